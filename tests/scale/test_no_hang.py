"""No hang, ever: a SIGKILLed holder's slot comes back within the lease bound, Redis stopped
mid-run gives typed errors, a sync call on a loop holding every slot raises at once, and the
slot wait times out typed. Real processes, a real redis-server, the emulator over loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import (
    EventLoopBlockedError,
    LimiterError,
    LimiterTimeoutError,
    LimiterUnavailableError,
)
from modelslab_transport.limits.redis import RedisLimiterSettings
from tests.support.adapter_processes import go, in_flight, result, start_worker
from tests.support.redis_server import RedisServer
from tests.support.slot_threads import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.timeout(40)]

SLOW = {"X-Emulator-Scenario": "slow-first-byte;delay=30"}


def slow(seconds: float) -> dict[str, str]:
    return {"X-Emulator-Scenario": f"slow-first-byte;delay={seconds}"}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def test_sigkilled_holder_frees_its_slot_within_the_lease_bound(
    redis_server: RedisServer, emulator: Emulator
) -> None:
    key = "no-hang-kill-key"
    holder = start_worker(
        adapter="langchain", base_url=emulator.base_url, key=key, limiter_url=redis_server.url,
        limit=1, n=1, tag="holder", headers=SLOW,
    )  # fmt: skip
    go(holder)
    wait_until(
        lambda: in_flight(emulator.stats_url) == 1, 10.0
    )  # its one slot is taken, its request running
    waiter = start_worker(
        adapter="llama_index", base_url=emulator.base_url, key=key,
        limiter_url=redis_server.url, limit=1, n=1, tag="waiter",
    )  # fmt: skip
    os.kill(holder.pid, signal.SIGKILL)
    killed = time.monotonic()
    holder.communicate()
    go(waiter)
    outcome = result(waiter, timeout=35)
    returned = time.monotonic() - killed
    print(f"slot back and answered {returned:.2f}s after SIGKILL")
    assert outcome["answers"] == ["You said: waiter prompt 0"]
    assert returned <= RedisLimiterSettings().slot_return_bound + 2.0  # + one request


def test_redis_stopped_mid_run_gives_typed_errors_and_no_hang(
    redis_server: RedisServer, emulator: Emulator
) -> None:
    llm = ChatModelsLab(
        api_key="no-hang-redis-down-key", base_url=emulator.base_url,
        limiter_url=redis_server.url, max_concurrent_requests=2, default_headers=slow(0.5),
    )  # fmt: skip
    outcomes: list[object] = []

    def one(i: int) -> None:
        try:
            outcomes.append(llm.invoke(f"redis down {i}").content)
        except Exception as exc:
            outcomes.append(exc)

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        for i in range(8):
            pool.submit(one, i)
        wait_until(lambda: in_flight(emulator.stats_url) == 2, 10.0)
        redis_server.stop()
    took = time.monotonic() - started
    errors = [o for o in outcomes if isinstance(o, Exception)]
    answers = [o for o in outcomes if isinstance(o, str)]
    print(f"redis stopped: {len(answers)} answered, {len(errors)} typed errors in {took:.2f}s")
    assert len(outcomes) == 8 and errors
    assert all(isinstance(error, LimiterError) for error in errors), errors
    assert any(isinstance(error, LimiterUnavailableError) for error in errors)
    assert took < 20


def test_redis_stopped_with_fallback_answers_all(
    redis_server: RedisServer, emulator: Emulator
) -> None:
    llm = ModelsLabLLM(
        api_key="no-hang-fallback-key", base_url=emulator.base_url,
        limiter_url=redis_server.url, limiter_fallback=True, max_concurrent_requests=2,
        default_headers=slow(0.2),
    )  # fmt: skip
    assert llm.complete("before").text == "You said: before"
    redis_server.stop()
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda i: llm.complete(f"after {i}").text, range(4)))
    assert texts == [f"You said: after {i}" for i in range(4)]


@pytest.mark.parametrize("adapter", ["langchain", "llama_index"])
def test_sync_call_on_a_loop_holding_every_slot_raises_at_once(
    emulator: Emulator, adapter: str
) -> None:
    common = {
        "api_key": f"no-hang-busy-loop-{adapter}", "base_url": emulator.base_url,
        "max_concurrent_requests": 3, "default_headers": slow(3),
    }  # fmt: skip
    chat = ChatModelsLab(**common) if adapter == "langchain" else None
    llm = ModelsLabLLM(**common) if adapter == "llama_index" else None

    async def scenario() -> float:
        if chat is not None:
            tasks = [asyncio.create_task(chat.ainvoke(f"busy {i}")) for i in range(3)]
        else:
            assert llm is not None
            tasks = [asyncio.create_task(llm.acomplete(f"busy {i}")) for i in range(3)]
        # Polling the server's count: every slot held by this loop's requests, on the server.
        while in_flight(emulator.stats_url) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        started = time.monotonic()
        with pytest.raises(EventLoopBlockedError, match="Await the async method"):
            if chat is not None:
                chat.invoke("sync on the loop")
            else:
                assert llm is not None
                llm.complete("sync on the loop")
        took = time.monotonic() - started
        await asyncio.gather(*tasks)
        return took

    took = asyncio.run(scenario())
    assert took < 0.5


@pytest.mark.parametrize("shared", [False, True], ids=["in_process", "redis"])
def test_slot_wait_times_out_typed(
    redis_server: RedisServer, emulator: Emulator, shared: bool
) -> None:
    llm = ChatModelsLab(
        api_key=f"no-hang-timeout-{shared}", base_url=emulator.base_url,
        limiter_url=redis_server.url if shared else None, max_concurrent_requests=1,
        acquire_timeout=0.5, default_headers=slow(3),
    )  # fmt: skip
    holder = threading.Thread(target=llm.invoke, args=("holder",))
    holder.start()
    wait_until(lambda: in_flight(emulator.stats_url) == 1, 10.0)
    started = time.monotonic()
    with pytest.raises(LimiterTimeoutError):
        llm.invoke("waiter")
    took = time.monotonic() - started
    holder.join(10)
    assert 0.4 <= took < 2.5
