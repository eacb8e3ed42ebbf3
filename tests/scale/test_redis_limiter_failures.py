"""The shared limiter when Redis fails: stopped or frozen mid-run gives typed errors within a
bounded time, never a hang; renewal and release failures are logged once; the optional
fallback to the in-process limit."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import pytest

from modelslab_transport import LimiterUnavailableError
from modelslab_transport.limits.redis import redis_slots
from tests.support.holder_processes import held_elsewhere
from tests.support.redis_server import RedisServer
from tests.support.slot_threads import (
    KEY,
    held_in_thread,
    take_and_leave,
    wait_until,
    waiter_when_broken,
)

pytestmark = pytest.mark.redis


@pytest.mark.timeout(60)
def test_redis_stopped_mid_run_gives_typed_errors_not_a_hang(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    slots = redis_slots(redis_server.url, KEY, redis_timeout=1.0)
    with held_in_thread(slots, 2), held_elsewhere(redis_server.url, KEY, limit=2):
        error, waited = waiter_when_broken(slots, 2, redis_server.stop, bound=15)
        assert isinstance(error, LimiterUnavailableError)
        assert "127.0.0.1" in str(error)
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
    with held_elsewhere(redis_server.url, KEY):
        error, waited = waiter_when_broken(slots, 1, redis_server.pause, bound=30)
        started = time.monotonic()
        with pytest.raises(LimiterUnavailableError):
            take_and_leave(slots, 1)
        fresh = time.monotonic() - started
        redis_server.resume()
    print(f"frozen Redis: the waiter failed after {waited:.2f}s, a new acquire after {fresh:.2f}s")
    assert isinstance(error, LimiterUnavailableError)
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


def _stop_redis(redis_server: RedisServer) -> None:
    redis_server.stop()
    time.sleep(1.5)  # four renewal periods of lease / 3


def _reap_the_lease(redis_server: RedisServer) -> None:
    # As if Redis had been unreachable for longer than the lease and a waiter reaped it.
    (leases,) = redis_server.client.keys("modelslab:limiter:*:leases")
    redis_server.client.delete(leases)
    time.sleep(0.8)  # two renewal periods


@pytest.mark.parametrize(
    ("while_held", "logged_once"),
    [
        (_stop_redis, ["could not renew", "could not release"]),  # once per outage
        (_reap_the_lease, ["is gone before its request ended"]),
    ],
    ids=["renewal-fails", "lease-lost"],
)
def test_trouble_with_a_held_slot_is_logged_once(
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
    while_held: Callable[[RedisServer], None],
    logged_once: list[str],
) -> None:
    slots = redis_slots(redis_server.url, KEY, lease_seconds=1.0)
    with caplog.at_level(logging.WARNING, logger="modelslab_transport"):
        with slots.hold(1):
            while_held(redis_server)
    for text in logged_once:
        assert len([r for r in caplog.records if text in r.getMessage()]) == 1, text
