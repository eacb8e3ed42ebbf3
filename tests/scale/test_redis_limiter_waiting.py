"""Waiting for a shared slot on a real redis-server: first come first served (threads, tasks,
processes), no busy spin, a wait timeout, few connections for a large async batch."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from modelslab_transport import LimiterTimeoutError
from modelslab_transport.limits.redis import redis_slots
from tests.support.holder_processes import held_elsewhere, read_event, start_holder
from tests.support.redis_server import RedisServer
from tests.support.slot_threads import KEY, held_in_thread, take_and_leave, wait_until, waiting_here

pytestmark = pytest.mark.redis


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


@pytest.mark.usefixtures("cancel_strategy")
async def test_a_cancel_the_redis_client_drops_is_still_raised(redis_server: RedisServer) -> None:
    """redis-py sends each command through `asyncio.wait_for`, which before Python 3.12 drops a
    cancellation arriving just as the command completes (CPython gh-86296); under load that made
    a cancelled waiter wait on (CI's 3.10 run once saw one wait on for 10 s). Here every BLPOP
    the waiter makes drops one that way, on every Python, whichever task the command runs in."""
    slots = redis_slots(redis_server.url, KEY)
    with held_in_thread(slots, 1):
        client = slots._link.for_running_loop().client
        real_blpop = client.blpop
        dropped = 0

        async def blpop_dropping_a_cancel(*args: object, **kwargs: object) -> object:
            nonlocal dropped
            result = await real_blpop(*args, **kwargs)
            task.cancel()  # the waiter is cancelled as the reply lands...
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                dropped += 1  # ...and the command drops it, as wait_for does: the result wins
            return result

        client.blpop = blpop_dropping_a_cancel
        task = asyncio.create_task(slots.hold_async(1).__aenter__())
        done, _ = await asyncio.wait({task}, timeout=10)
        assert done, "the cancelled waiter went on waiting"
        with pytest.raises(asyncio.CancelledError):
            task.result()
        assert dropped == 1
        assert slots.waiting == 0


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
