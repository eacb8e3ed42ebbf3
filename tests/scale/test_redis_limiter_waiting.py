"""Waiting for a shared slot on a real redis-server: first come first served, no busy spin,
a wait timeout and a dead Redis both end in a typed error within a bounded time."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from modelslab_transport._limiter_errors import LimiterTimeoutError, LimiterUnavailableError
from modelslab_transport._redis_limiter import RedisSlots, redis_slots

from ._procs import held_elsewhere, read_event, start_holder
from .conftest import RedisServer

pytestmark = pytest.mark.redis

KEY = "test-key-0123456789"


@contextmanager
def held_in_thread(slots: RedisSlots, limit: int) -> Iterator[threading.Event]:
    """A thread holding one slot until the yielded event is set."""
    release, got = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.hold(limit):
            got.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    assert got.wait(10)
    try:
        yield release
    finally:
        release.set()
        thread.join(20)


def waiting_here(slots: RedisSlots) -> int:
    """Callers of this process queued in front of Redis (the in-process gates)."""
    gates = list(slots._loop_gates.values())
    return slots._threads.waiting + sum(gate.waiting for gate in gates)


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def take_and_leave(slots: RedisSlots, limit: int) -> None:
    with slots.hold(limit):
        pass


def test_threads_are_served_in_arrival_order(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY)
    order: list[int] = []

    def wait(n: int) -> None:
        with slots.hold(1):
            order.append(n)
            time.sleep(0.02)

    with held_in_thread(slots, 1):
        threads = []
        for n in range(6):
            threads.append(threading.Thread(target=wait, args=(n,)))
            threads[-1].start()
            wait_until(lambda n=n: waiting_here(slots) == n + 1)  # queued before the next comes
        # They wait in this process, not in Redis: one process never queues more than its
        # limit there (a batch of 1,000 async calls would otherwise hold 1,000 connections).
        assert slots.waiting == 0
    for thread in threads:
        thread.join(20)
    assert order == list(range(6))


def test_processes_are_served_in_arrival_order(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY)
    procs = []
    try:
        with held_in_thread(slots, 1):
            for n in range(4):
                procs.append(
                    start_holder(mode="hold", url=redis_server.url, key=KEY, limit=1, hold=0.05)
                )
                wait_until(lambda n=n: slots.waiting == n + 1, timeout=30)
        held_at = [read_event(proc, "HELD") for proc in procs]
        for proc in procs:
            assert proc.wait(timeout=20) == 0
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
    assert held_at == sorted(held_at)


async def test_async_waiters_are_served_in_arrival_order(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY)
    order: list[int] = []

    async def wait(n: int) -> None:
        async with slots.hold_async(1):
            order.append(n)
            await asyncio.sleep(0.02)

    with held_in_thread(slots, 1) as release:
        tasks = []
        for n in range(6):
            tasks.append(asyncio.create_task(wait(n)))
            queued = lambda n=n: slots.waiting + waiting_here(slots) == n + 1  # noqa: E731
            await asyncio.to_thread(wait_until, queued)
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
    assert order == list(range(6))


def test_waiting_does_not_spin(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY)
    with held_elsewhere(redis_server.url, KEY):
        waiter = threading.Thread(target=take_and_leave, args=(slots, 1))
        waiter.start()
        wait_until(lambda: slots.waiting == 1)
        redis_server.client.config_resetstat()
        time.sleep(2.0)
        total = redis_server.commands_processed()
        stats = redis_server.client.info("commandstats")
        assert waiter.is_alive()
    waiter.join(10)
    # What the clients sent: one script call and one BLPOP per one-second poll, at most one
    # renewal of the holder's lease; scripts' inner commands are counted in `total` as well.
    sent = sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("evalsha", "eval", "blpop"))
    print(f"in a 2 s wait: {sent} commands sent, {total} processed")
    assert sent <= 6
    assert total <= 40


@pytest.mark.parametrize("where", ["in Redis", "in this process"])
def test_the_wait_timeout_raises_a_typed_error(redis_server: RedisServer, where: str) -> None:
    slots = redis_slots(redis_server.url, KEY, acquire_timeout=0.5)
    if where == "in Redis":
        holder = held_elsewhere(redis_server.url, KEY)
    else:
        holder = held_in_thread(slots, 1)
    with holder:
        started = time.monotonic()
        with pytest.raises(LimiterTimeoutError, match=r"acquire_timeout=0\.5s"):
            with slots.hold(1):
                pytest.fail("got a slot that was taken")
        assert 0.5 <= time.monotonic() - started < 3.0
        assert slots.waiting == 0 and waiting_here(slots) == 0  # the ticket left the queue
    with slots.hold(1):  # and nothing was left behind
        assert slots.in_flight == 1


async def test_the_async_wait_timeout_raises_a_typed_error(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY, acquire_timeout=0.5)
    with held_in_thread(slots, 1):
        started = time.monotonic()
        with pytest.raises(LimiterTimeoutError):
            async with slots.hold_async(1):
                pytest.fail("got a slot that was taken")
        assert 0.5 <= time.monotonic() - started < 3.0
        assert slots.waiting == 0 and waiting_here(slots) == 0


async def test_a_cancelled_async_waiter_leaves_the_queue(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY)
    with held_in_thread(slots, 1):
        task = asyncio.create_task(slots.hold_async(1).__aenter__())
        await asyncio.to_thread(wait_until, lambda: slots.waiting == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert slots.waiting == 0


@pytest.mark.timeout(60)
def test_redis_stopped_mid_run_gives_typed_errors_not_a_hang(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    slots = redis_slots(redis_server.url, KEY, redis_timeout=1.0)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            with slots.hold(2):
                pass
        except BaseException as exc:
            outcome.append(exc)

    with held_in_thread(slots, 2), held_elsewhere(redis_server.url, KEY, limit=2):
        waiter = threading.Thread(target=wait)
        waiter.start()
        wait_until(lambda: slots.waiting == 1)
        redis_server.stop()
        stopped = time.monotonic()
        waiter.join(15)
        waited = time.monotonic() - stopped
        assert not waiter.is_alive()
        assert isinstance(outcome[0], LimiterUnavailableError)
        assert "127.0.0.1" in str(outcome[0])
        assert waited < 5.0  # one poll plus one refused reconnection
        started = time.monotonic()
        with pytest.raises(LimiterUnavailableError):
            with slots.hold(5):
                pytest.fail("got a slot without Redis")
        assert time.monotonic() - started < 3.0
    # The holder's release found Redis gone: logged, not raised (its lease expires by itself).
    assert "could not release a slot" in caplog.text
    print(f"waiter failed {waited:.2f}s after redis-server stopped")


@pytest.mark.timeout(60)
def test_a_frozen_redis_gives_a_typed_error_within_the_socket_timeouts(
    redis_server: RedisServer,
) -> None:
    # Nothing refuses the connection here: only the socket timeouts end the wait.
    slots = redis_slots(redis_server.url, KEY, redis_timeout=1.0)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            take_and_leave(slots, 1)
        except BaseException as exc:
            outcome.append(exc)

    with held_elsewhere(redis_server.url, KEY):
        waiter = threading.Thread(target=wait)
        waiter.start()
        wait_until(lambda: slots.waiting == 1)
        redis_server.pause()
        frozen = time.monotonic()
        waiter.join(30)
        waited = time.monotonic() - frozen
        started = time.monotonic()
        with pytest.raises(LimiterUnavailableError):
            take_and_leave(slots, 1)
        fresh = time.monotonic() - started
        redis_server.resume()
    print(f"frozen Redis: the waiter failed after {waited:.2f}s, a new acquire after {fresh:.2f}s")
    assert isinstance(outcome[0], LimiterUnavailableError)
    # One poll (1 s) + redis_timeout (1 s) per attempt, and one retry without backoff.
    assert waited < 7.0
    assert fresh < 7.0


@pytest.mark.timeout(60)
async def test_redis_stopped_fails_async_waiters_too(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY, redis_timeout=1.0)
    with held_in_thread(slots, 1):

        async def wait() -> None:
            async with slots.hold_async(1):
                pass

        task = asyncio.create_task(wait())
        await asyncio.to_thread(wait_until, lambda: slots.waiting == 1)
        redis_server.stop()
        with pytest.raises(LimiterUnavailableError):
            await asyncio.wait_for(task, 10)
        with pytest.raises(LimiterUnavailableError):
            async with slots.hold_async(1):
                pytest.fail("got a slot without Redis")


def test_fallback_to_local_is_logged_once_and_still_limits(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    slots = redis_slots(redis_server.url, KEY, fallback_to_local=True)
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="modelslab_transport"):
        peak = 0
        inside = 0
        lock = threading.Lock()

        def one() -> None:
            nonlocal peak, inside
            with slots.hold(2):
                with lock:
                    inside += 1
                    peak = max(peak, inside)
                time.sleep(0.05)
                with lock:
                    inside -= 1

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    assert peak == 2
    warnings = [r for r in caplog.records if "fallback_to_local" in r.getMessage()]
    assert len(warnings) == 1


def test_a_failing_renewal_is_logged_once_per_outage(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    slots = redis_slots(redis_server.url, KEY, lease_seconds=1.0)
    with caplog.at_level(logging.WARNING, logger="modelslab_transport"):
        with slots.hold(1):
            redis_server.stop()
            time.sleep(1.5)  # four renewal periods of lease / 3
    renewals = [r for r in caplog.records if "could not renew" in r.getMessage()]
    releases = [r for r in caplog.records if "could not release" in r.getMessage()]
    assert len(renewals) == 1
    assert len(releases) == 1


def test_a_lease_lost_while_held_is_reported(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # As if Redis had been unreachable for longer than the lease and a waiter reaped it.
    slots = redis_slots(redis_server.url, KEY, lease_seconds=1.0)
    with caplog.at_level(logging.WARNING, logger="modelslab_transport"):
        with slots.hold(1):
            (leases,) = redis_server.client.keys("modelslab:limiter:*:leases")
            redis_server.client.delete(leases)
            time.sleep(0.8)  # two renewal periods
    lost = [r for r in caplog.records if "is gone before its request ended" in r.getMessage()]
    assert len(lost) == 1


async def test_a_large_async_batch_keeps_few_redis_connections(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, KEY)
    peak, inside, stop = 0, 0, threading.Event()
    connections: list[int] = []

    def sample() -> None:
        while not stop.is_set():
            connections.append(int(redis_server.client.info("clients")["connected_clients"]))
            time.sleep(0.02)

    async def one() -> None:
        nonlocal peak, inside
        async with slots.hold_async(5):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(200))), 60)
    finally:
        stop.set()
        sampler.join()
    print(f"200 async calls at limit 5: peak {peak} in flight, {max(connections)} connections")
    assert peak == 5
    # Up to 5 waiting in Redis, 5 holders' short commands, the sampler's own connection.
    assert max(connections) <= 12


async def test_an_async_wait_in_this_process_times_out_and_cancels_cleanly(
    redis_server: RedisServer,
) -> None:
    slots = redis_slots(redis_server.url, KEY, acquire_timeout=0.3)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with slots.hold_async(1):
            entered.set()
            await release.wait()

    async def waiter() -> None:
        async with slots.hold_async(1):
            pass

    task = asyncio.create_task(holder())
    await entered.wait()
    with pytest.raises(LimiterTimeoutError):
        await waiter()  # queued in this loop's gate, not in Redis
    cancelled = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    assert waiting_here(slots) == 1 and slots.waiting == 0
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert waiting_here(slots) == 0
    release.set()
    await task
    async with slots.hold_async(1):  # the gate's place came back
        assert slots.in_flight == 1


async def test_a_unix_socket_url_shares_the_same_slots(redis_server: RedisServer) -> None:
    over_tcp = redis_slots(redis_server.url, KEY)
    over_unix = redis_slots(redis_server.unix_url, KEY)
    with over_unix.hold(2):
        async with over_unix.hold_async(2):
            assert over_tcp.in_flight == 2
    assert over_tcp.in_flight == 0
