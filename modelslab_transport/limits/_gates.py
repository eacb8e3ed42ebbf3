"""The in-process gates that stand in front of a shared limiter (Redis): at most `limit`
callers of one process (per event loop, for async callers) go on to it at a time, the rest wait
here in order. Without them a batch of 1,000 async calls would keep 1,000 Redis connections
open in BLPOP. Also the check for cancellations `asyncio.wait_for` swallows.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

__all__ = ["LoopGate", "PerLoop", "ThreadGate", "cancel_raised"]

_T = TypeVar("_T")


# Python 3.11+ counts a task's pending cancellations (`Task.cancelling`).
_COUNTS_CANCELS = sys.version_info >= (3, 11)


async def cancel_raised(awaitable: Awaitable[_T]) -> _T:
    """`await awaitable`, never dropping a cancellation of the caller on the way.

    `asyncio.wait_for` before Python 3.12 swallows a cancellation that arrives just as the
    future it waits for completes (CPython gh-86296): it returns the result, and the task runs
    on with its cancel requested but never raised. The gates here wait with `wait_for`, and
    redis-py's asyncio client sends every command through it. From Python 3.11 the task counts
    its cancellations: compared before and after (`raise_lost_cancel`), a dropped one is raised
    here. Python 3.10 keeps no count, so there the awaitable runs as a task of its own behind
    `asyncio.shield`: the caller's cancellation always reaches the caller, and the inner task is
    cancelled in turn (the caller's cleanup gives back whatever it was granted meanwhile).
    """
    import asyncio

    if _COUNTS_CANCELS:
        before = pending_cancels()
        result = await awaitable
        raise_lost_cancel(before)
        return result
    inner = asyncio.ensure_future(awaitable)
    try:
        return await asyncio.shield(inner)
    except asyncio.CancelledError:
        inner.cancel()
        inner.add_done_callback(_retrieved)
        raise


def _retrieved(task: asyncio.Future[Any]) -> None:
    # The abandoned inner task's outcome, read so that asyncio logs no "never retrieved".
    if not task.cancelled():
        task.exception()


def pending_cancels() -> int:
    """Cancellations requested of the running task and not yet handled (0 before Python 3.11);
    see `cancel_raised`."""
    import asyncio

    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return cancelling() if cancelling is not None else 0


def raise_lost_cancel(before: int) -> None:
    """Raise CancelledError if the running task was cancelled since `pending_cancels()` gave
    `before` and the cancellation was swallowed on the way."""
    if pending_cancels() > before:
        import asyncio

        raise asyncio.CancelledError


class ThreadGate:
    """A first-come-first-served counting gate for threads, with a deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = 0
        self._queue: deque[object] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def acquire(
        self, limit: int, deadline: float | None, on_timeout: Callable[[], NoReturn]
    ) -> None:
        """Take a place under `limit`; past `deadline` (monotonic) call `on_timeout`, which
        raises."""
        me = object()
        with self._cond:
            self._queue.append(me)
            try:
                # Only the head may take a place, so a late arrival cannot overtake a waiter.
                while self._queue[0] is not me or self._held >= limit:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        on_timeout()
                    self._cond.wait(left)
            except BaseException:
                self._queue.remove(me)
                self._cond.notify_all()
                raise
            self._queue.popleft()
            self._held += 1
            self._cond.notify_all()  # the next in line may fit as well

    def release(self) -> None:
        with self._cond:
            self._held -= 1
            self._cond.notify_all()


class LoopGate:
    """The same for the tasks of one event loop (no locks: only that loop's thread uses it)."""

    def __init__(self) -> None:
        self._held = 0
        self._queue: deque[tuple[asyncio.Future[None], int]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def acquire(self, limit: int, timeout: float | None) -> None:
        """Take a place under `limit`; raises TimeoutError when `timeout` passes first."""
        import asyncio

        if self._held < limit and not self._queue:
            self._held += 1
            return
        entry = (asyncio.get_running_loop().create_future(), limit)
        self._queue.append(entry)
        try:
            await cancel_raised(asyncio.wait_for(entry[0], timeout))
        except BaseException:
            if entry[0].done() and not entry[0].cancelled():
                self.release()  # granted as we gave up: pass the place on
            elif entry in self._queue:
                self._queue.remove(entry)
                self._grant()
            raise

    def release(self) -> None:
        self._held -= 1
        self._grant()

    def _grant(self) -> None:
        while self._queue and self._held < self._queue[0][1]:
            future, _ = self._queue.popleft()
            if not future.done():
                future.set_result(None)
                self._held += 1


class PerLoop(Generic[_T]):
    """One value per event loop (an asyncio object belongs to the loop that made it), made by
    `make` on first use on that loop; any thread. A value may keep its loop alive (a client's
    connections reference it), so the values of closed loops are dropped."""

    __slots__ = ("_lock", "_make", "_values")

    def __init__(self, make: Callable[[], _T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _T]
        self._values = weakref.WeakKeyDictionary()

    def get(self) -> _T:
        """The running loop's value."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [old for old in self._values if old.is_closed()]:
                del self._values[old]
            value = self._values.get(loop)
            if value is None:
                value = self._values[loop] = self._make()
            return value

    def values(self) -> list[_T]:
        """Every loop's value, as of now."""
        with self._lock:
            return list(self._values.values())
