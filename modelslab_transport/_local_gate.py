"""In-process gates in front of the shared limiter: at most `limit` callers of one process
(per event loop, for async callers) go on to Redis at a time, the rest wait here in order.

Without them a batch of 1,000 async calls would keep 1,000 Redis connections open in BLPOP;
with them a process never waits in Redis with more than `limit` connections, since no more
than `limit` of its callers can hold a slot anyway.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

__all__ = ["LoopGate", "ThreadGate"]


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
            await asyncio.wait_for(entry[0], timeout)
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
