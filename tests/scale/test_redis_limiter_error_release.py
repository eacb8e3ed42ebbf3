"""A request that fails under the shared (Redis) limiter gives its slot back at once.

Each failure below raises (or ends) while its request holds a Redis slot: an error status, a
dropped or refused connection, an error or a cut mid-stream, a stream dropped by its reader, an
async request cancelled. A slot kept by such a request would be renewed for as long as the
process lives, so after N failures N new requests must still get slots together: the emulator
sees all N in flight at once, and none waits past `acquire_timeout`."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    LimiterTimeoutError,
    ModelsLabClient,
    ModelsLabError,
)
from modelslab_transport.limits.redis import redis_slots
from tests.support.redis_server import RedisServer
from tests.support.scenarios import scenario as scenario_value
from tests.support.slot_threads import held_in_thread, wait_until
from tests.support.transport_calls import payload

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

HOLD = 1.5  # seconds each new request runs on the server, so that the N of them overlap

# How a request fails: a scenario for the emulator (None: a port nobody listens on) and
# whether it streams. Every one raises, or ends, while the request holds its slot.
FAILURES: dict[str, tuple[str | None, bool]] = {
    "error status": ("server-error;status=500", False),
    "connection dropped": ("drop-mid-stream;after=1", False),
    "connection refused": (None, False),
    "stream error status": ("server-error;status=503", True),
    "error mid-stream": ("error-mid-stream;after=2", True),
    "stream dropped mid-way": ("drop-mid-stream;after=2", True),
}


def closed_port_url() -> str:
    """A loopback base URL on which nothing listens (the connection is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v7/llm"


def client_kwargs(emulator: Emulator, redis_url: str, key: str, limit: int) -> dict[str, Any]:
    # No retries: each failure reaches the caller after one attempt. A leaked slot makes a
    # new request wait; acquire_timeout turns that wait into an error, well within the test.
    return {
        "api_key": key,
        "base_url": emulator.base_url,
        "limiter_url": redis_url,
        "max_concurrent_requests": limit,
        "max_retries": 0,
        "acquire_timeout": 10.0,
    }


def failing_kwargs(common: dict[str, Any], name: str) -> dict[str, Any]:
    scenario, _ = FAILURES[name]
    if scenario is None:
        return {**common, "base_url": closed_port_url()}
    return {**common, "default_headers": {"X-Emulator-Scenario": scenario_value(scenario)}}


def slow_kwargs(common: dict[str, Any]) -> dict[str, Any]:
    value = scenario_value("slow-first-byte", delay=HOLD)
    return {**common, "default_headers": {"X-Emulator-Scenario": value}}


def shared_in_flight(redis_url: str, key: str) -> int:
    """Slots of `key` held in Redis right now, as any process sees them."""
    return redis_slots(redis_url, key).in_flight


@pytest.fixture
def key() -> str:
    # A key of its own per test: its slots in Redis and its counts in the emulator start at 0.
    return f"test-key-release-{uuid.uuid4().hex[:12]}"


def fail_sync(kwargs: dict[str, Any], streaming: bool) -> None:
    with ModelsLabClient(**kwargs) as client:
        with pytest.raises(ModelsLabError):
            if streaming:
                list(client.stream_chat(payload("one two three four five six")))
            else:
                client.chat(payload("one two three four five six"))


def test_failed_sync_requests_give_their_slots_back(
    emulator: Emulator, redis_server: RedisServer, key: str
) -> None:
    n = len(FAILURES) + 1
    common = client_kwargs(emulator, redis_server.url, key, n)
    for name, (_, streaming) in FAILURES.items():
        fail_sync(failing_kwargs(common, name), streaming)
        assert shared_in_flight(redis_server.url, key) == 0, f"{name}: its slot is still held"
    # A stream its reader drops after the first event ends inside its slot too.
    with ModelsLabClient(**common) as client:
        stream = client.stream_chat(payload("one two three four five six"))
        next(stream)
        stream.close()
    assert shared_in_flight(redis_server.url, key) == 0

    started = time.monotonic()
    with ModelsLabClient(**slow_kwargs(common)) as client:
        with ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda i: client.chat(payload(f"new {i}")), range(n)))
    assert [a.first.content for a in answers] == [f"You said: new {i}" for i in range(n)]
    assert emulator.max_in_flight[emulator.fingerprint(key)] >= n  # all n held slots at once
    assert time.monotonic() - started < HOLD * 2 + 5  # one round, not n after one another


async def fail_async(kwargs: dict[str, Any], streaming: bool) -> None:
    async with AsyncModelsLabClient(**kwargs) as client:
        with pytest.raises(ModelsLabError):
            if streaming:
                [event async for event in client.stream_chat(payload("one two three four"))]
            else:
                await client.chat(payload("one two three four"))


async def cancel_in_flight(emulator: Emulator, kwargs: dict[str, Any], key: str) -> None:
    """An async request cancelled while the server works on it (so while it holds a slot)."""
    fingerprint = emulator.fingerprint(key)
    async with AsyncModelsLabClient(**slow_kwargs(kwargs)) as client:
        task = asyncio.create_task(client.chat(payload("never answered")))
        await asyncio.to_thread(wait_until, lambda: emulator.in_flight.get(fingerprint))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
    # The server finishes its (now unread) reply: wait, so that it is not counted below.
    await asyncio.to_thread(wait_until, lambda: not emulator.in_flight.get(fingerprint))


async def test_failed_and_cancelled_async_requests_give_their_slots_back(
    emulator: Emulator, redis_server: RedisServer, key: str
) -> None:
    n = len(FAILURES) + 2
    common = client_kwargs(emulator, redis_server.url, key, n)
    for name, (_, streaming) in FAILURES.items():
        await asyncio.wait_for(fail_async(failing_kwargs(common, name), streaming), 20)
        assert shared_in_flight(redis_server.url, key) == 0, f"{name}: its slot is still held"
    await cancel_in_flight(emulator, common, key)
    assert shared_in_flight(redis_server.url, key) == 0, "the cancelled request kept its slot"
    async with AsyncModelsLabClient(**common) as client:
        stream = client.stream_chat(payload("one two three four five six"))
        await stream.__anext__()
        await stream.aclose()
    assert shared_in_flight(redis_server.url, key) == 0

    async with AsyncModelsLabClient(**slow_kwargs(common)) as client:
        batch = asyncio.gather(*(client.chat(payload(f"new {i}")) for i in range(n)))
        answers = await asyncio.wait_for(batch, HOLD * 2 + 5)  # one round, not n in a row
    assert [a.first.content for a in answers] == [f"You said: new {i}" for i in range(n)]
    assert emulator.max_in_flight[emulator.fingerprint(key)] >= n


# -- a wait given up (cancelled, or past acquire_timeout) leaves the line at once -------------
# A waiter left in Redis's queue would stand first in line, unserved, until its ticket expires
# (seconds later): the next request would wait for a slot that is free.


def test_a_wait_past_acquire_timeout_leaves_the_line(
    emulator: Emulator, redis_server: RedisServer, key: str
) -> None:
    common = {**client_kwargs(emulator, redis_server.url, key, 1), "acquire_timeout": 0.5}
    with ModelsLabClient(**common) as client:
        with held_in_thread(redis_slots(redis_server.url, key), 1) as release:
            with pytest.raises(LimiterTimeoutError):
                client.chat(payload("never sent"))
            release.set()
        wait_until(lambda: shared_in_flight(redis_server.url, key) == 0)
        started = time.monotonic()
        assert client.chat(payload("next")).first.content == "You said: next"
    assert time.monotonic() - started < 2.0, "the given-up wait kept its place in line"


async def test_a_cancelled_wait_leaves_the_line(
    emulator: Emulator, redis_server: RedisServer, key: str
) -> None:
    slots = redis_slots(redis_server.url, key)
    async with AsyncModelsLabClient(**client_kwargs(emulator, redis_server.url, key, 1)) as c:
        with held_in_thread(slots, 1) as release:
            task = asyncio.create_task(c.chat(payload("never sent")))
            await asyncio.to_thread(wait_until, lambda: slots.waiting == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            release.set()
        await asyncio.to_thread(wait_until, lambda: slots.in_flight == 0)
        started = time.monotonic()
        answer = await asyncio.wait_for(c.chat(payload("next")), 10)
    assert answer.first.content == "You said: next"
    assert time.monotonic() - started < 2.0, "the cancelled wait kept its place in line"
    assert not [r for r in emulator.requests if "never sent" in str(r.body)]
