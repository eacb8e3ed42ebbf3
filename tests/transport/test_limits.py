"""The per-key in-flight limit holds across clients, threads and event loops."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import AsyncModelsLabClient, ModelsLabClient, accumulate
from modelslab_transport.limits import KeySlots, slots_for_key
from modelslab_transport.limits._gates import LoopGate, cancel_raised
from tests.support.transport_calls import payload, scenario


def test_same_key_shares_one_gate_and_other_keys_do_not() -> None:
    assert slots_for_key("a-key") is slots_for_key("a-key")
    assert slots_for_key("a-key") is not slots_for_key("b-key")


async def test_async_requests_never_exceed_the_limit(emulator: Emulator) -> None:
    key = "sk-limit-async"
    headers = scenario("trickle", delay=0.02)
    async with AsyncModelsLabClient(
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=3,
        default_headers=headers,
    ) as client:

        async def one(i: int) -> str:
            events = [e async for e in client.stream_chat(payload(f"req {i}"))]
            return accumulate(events).first.content

        answers = await asyncio.gather(*(one(i) for i in range(12)))
    assert answers == [f"You said: req {i}" for i in range(12)]
    assert emulator.max_in_flight[emulator.fingerprint(key)] == 3
    assert slots_for_key(key).in_flight == 0


def test_threads_and_two_clients_share_the_limit(emulator: Emulator) -> None:
    key = "sk-limit-threads"
    headers = scenario("trickle", delay=0.02)
    clients = [
        ModelsLabClient(
            api_key=key,
            base_url=emulator.base_url,
            max_concurrent_requests=2,
            default_headers=headers,
        )
        for _ in range(2)
    ]

    def one(i: int) -> str:
        client = clients[i % 2]
        return accumulate(client.stream_chat(payload(f"t {i}"))).first.content

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, range(10)))
    assert answers == [f"You said: t {i}" for i in range(10)]
    assert emulator.max_in_flight[emulator.fingerprint(key)] == 2
    for client in clients:
        client.close()


def test_abandoned_stream_releases_its_slot(emulator: Emulator) -> None:
    key = "sk-limit-abandon"
    with ModelsLabClient(
        api_key=key, base_url=emulator.base_url, max_concurrent_requests=1
    ) as client:
        stream = client.stream_chat(payload("one two three four"))
        next(stream)
        assert slots_for_key(key).in_flight == 1
        stream.close()
        assert slots_for_key(key).in_flight == 0
        assert client.chat(payload("again")).first.content == "You said: again"


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    gate = KeySlots()
    async with gate.hold_async(1):
        waiter = asyncio.ensure_future(gate.hold_async(1).__aenter__())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert gate.in_flight == 0
    async with gate.hold_async(1):
        assert gate.in_flight == 1


def test_no_limit_means_no_gate() -> None:
    gate = KeySlots()
    with gate.hold(None):
        assert gate.in_flight == 0


@pytest.mark.usefixtures("cancel_strategy")
async def test_a_cancel_wait_for_drops_is_still_raised() -> None:
    """The window of CPython gh-86296, made exactly: the awaited future completes and the
    waiter is cancelled in the same loop turn, so `asyncio.wait_for` (before 3.12) returns the
    result and drops the cancel. `cancel_raised` raises it: counted on 3.11+, shielded on 3.10."""
    loop = asyncio.get_running_loop()
    went_on = []

    async def wait(landed: asyncio.Future[None], guarded: bool) -> None:
        waited = asyncio.wait_for(landed, 10)
        await (cancel_raised(waited) if guarded else waited)
        went_on.append(guarded)
        await asyncio.sleep(0.05)  # a task that went on is still running when checked

    cancelled = []
    for guarded in (False, True):
        landed: asyncio.Future[None] = loop.create_future()
        waiter = asyncio.ensure_future(wait(landed, guarded))
        await asyncio.sleep(0)  # it waits
        loop.call_soon(landed.set_result, None)
        loop.call_soon(waiter.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        cancelled.append(waiter.cancelled())
    # Unguarded, the wait went on where wait_for drops the cancel (the check can fail);
    # guarded, the waiter was cancelled where it waited.
    dropped = sys.version_info < (3, 12)
    assert (went_on, cancelled) == (([False], [False, True]) if dropped else ([], [True, True]))


async def _granted_then_cancelled(
    enter: Callable[[], Awaitable[object]], leave: Callable[[], Awaitable[object]], hops: int
) -> asyncio.Task[object]:
    """A waiter whose slot is granted, cancelled before it runs again: the window where
    `asyncio.wait_for` before Python 3.12 returns the result and drops the cancellation (CPython
    gh-86296). `hops`: loop turns from the release until the grant has landed."""

    async def run() -> object:
        return await enter()

    waiter = asyncio.ensure_future(run())
    await asyncio.sleep(0.01)  # it waits for the held slot
    await leave()
    for _ in range(hops):
        await asyncio.sleep(0)
    assert not waiter.done()
    waiter.cancel()
    return waiter


@pytest.mark.usefixtures("cancel_strategy")
async def test_a_cancel_as_the_slot_is_granted_is_not_lost() -> None:
    gate = KeySlots()
    held = gate.hold_async(1)
    await held.__aenter__()
    waiter = await _granted_then_cancelled(
        lambda: gate.hold_async(1, timeout=60).__aenter__(),
        lambda: held.__aexit__(None, None, None),
        1,
    )
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.in_flight == 0  # the slot granted as it was cancelled went back


@pytest.mark.usefixtures("cancel_strategy")
async def test_a_loop_gate_cancel_as_the_place_is_granted_is_not_lost() -> None:
    gate = LoopGate()
    await gate.acquire(1, None)

    async def leave() -> None:
        gate.release()

    waiter = await _granted_then_cancelled(lambda: gate.acquire(1, 60), leave, 0)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.waiting == 0
    await asyncio.wait_for(gate.acquire(1, None), 1)  # the place was passed on, not kept
