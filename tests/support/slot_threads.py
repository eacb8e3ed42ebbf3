"""Threads holding and waiting for shared slots in this process, and polling helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from modelslab_transport.limits.redis import RedisSlots

KEY = "test-key-0123456789"


class _Slots(Protocol):
    # RedisSlots, the in-process KeySlots, any limiter.
    def hold(self, limit: int) -> AbstractContextManager[None]: ...


@contextmanager
def held_in_thread(slots: _Slots, limit: int) -> Iterator[threading.Event]:
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


def waiter_when_broken(
    slots: RedisSlots, limit: int, breaks: Callable[[], None], bound: float
) -> tuple[BaseException | None, float]:
    """A thread waits for a slot; once it waits, `breaks()` (stops or freezes Redis). What the
    waiter raised and the seconds it took to end after the break (at most `bound`)."""
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            take_and_leave(slots, limit)
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    wait_until(lambda: slots.waiting == 1)
    breaks()
    broken = time.monotonic()
    waiter.join(bound)
    waited = time.monotonic() - broken
    assert not waiter.is_alive(), f"still waiting {bound:.0f}s after Redis broke"
    return (outcome[0] if outcome else None), waited
