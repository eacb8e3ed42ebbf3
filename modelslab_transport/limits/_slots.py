"""Limits on requests in flight per API key: the process-wide `KeySlots`, and the slots a
stream holds (`HeldSlot`, `AsyncHeldSlot`), released once.

ModelsLab counts queued requests per account (5 on the smallest plan) and refuses the rest
with 429, so every client using one key in this process draws from one counter. Each caller
brings its own limit: a request may start while fewer than that many are in flight.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from collections import deque
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import EventLoopBlockedError, LimiterTimeoutError
from ._gates import cancel_raised
from ._registry import gates_of, one_per

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "NO_HOLD",
    "AsyncHeldSlot",
    "AsyncHold",
    "HeldSlot",
    "Hold",
    "KeySlots",
    "slots_for_key",
]


@dataclass(slots=True)
class _AsyncWaiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    limit: int
    granted: bool = False


class KeySlots:
    """A counting gate for one key: `hold(limit)` / `hold_async(limit)` around each request.

    `timeout` bounds the wait (LimiterTimeoutError). The event loops of async holders are
    counted, so a sync `hold` on a loop's thread while that loop holds every slot raises
    EventLoopBlockedError at once: that wait could never end, the loop that frees them is the
    one blocked. `learned` is the plan's limit read from a 429, when lower than ours."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._in_flight = 0
        self._waiters: deque[_AsyncWaiter] = deque()
        self._loops: dict[asyncio.AbstractEventLoop, int] = {}
        self._sleepers = 0  # threads waiting in `acquire`
        self.learned: int | None = None

    @property
    def in_flight(self) -> int:
        """Requests currently holding a slot."""
        return self._in_flight

    def _forget_holders(self) -> None:
        # In a forked child: the parent's holders and waiters are not there to give slots back.
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._in_flight = 0
        self._waiters = deque()
        self._loops = {}
        self._sleepers = 0

    def learn(self, limit: int) -> bool:
        """Remember the plan's queue limit; True the first time it lowers what we knew."""
        with self._lock:
            if self.learned is not None and self.learned <= limit:
                return False
            self.learned = limit
            return True

    def hold(self, limit: int | None, timeout: float | None = None) -> AbstractContextManager[None]:
        """Block this thread until a slot is free under `limit`, then hold it (None: no limit)."""
        return NO_HOLD if limit is None else Hold(self, limit, timeout)

    def hold_async(
        self, limit: int | None, timeout: float | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Wait (without blocking the loop) for a slot under `limit`, then hold it."""
        return NO_HOLD if limit is None else AsyncHold(self, limit, timeout)

    def acquire(self, limit: int, timeout: float | None) -> None:
        """Block this thread until a slot is free under `limit`, then take it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._freed:
            while self._in_flight >= limit:
                self._check_not_on_holding_loop(limit)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise _timeout_error(timeout)
                self._sleepers += 1  # so a release notifies only when a thread sleeps here
                try:
                    self._freed.wait(left)
                finally:
                    self._sleepers -= 1
            self._in_flight += 1

    def _check_not_on_holding_loop(self, limit: int) -> None:
        # Called with the lock held. asyncio is looked up, never imported: a program that
        # never loaded it has no loop to block.
        if not self._loops or "asyncio" not in sys.modules:
            return
        try:
            loop = sys.modules["asyncio"].get_running_loop()
        except RuntimeError:
            return
        if self._loops.get(loop, 0) >= limit:
            raise EventLoopBlockedError(
                "A sync call was made on an event loop's thread while that loop's async calls "
                "hold every in-flight slot for this key: waiting would block the loop that frees "
                "them. Await the async method instead (ainvoke / astream / achat / acomplete)."
            )

    async def acquire_async(self, limit: int, timeout: float | None) -> asyncio.AbstractEventLoop:
        import asyncio  # here, not at module level: `import modelslab_transport` stays light

        loop = asyncio.get_running_loop()
        with self._lock:
            if self._in_flight < limit and not self._waiters:
                self._in_flight += 1
                self._loops[loop] = self._loops.get(loop, 0) + 1
                return loop
            waiter = _AsyncWaiter(loop, loop.create_future(), limit)
            self._waiters.append(waiter)
        try:
            await cancel_raised(asyncio.wait_for(waiter.future, timeout))
        except BaseException as exc:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:
                self.release(loop)
            if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
                raise _timeout_error(timeout) from None
            raise
        return loop

    def release(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Give a slot back (`loop`: the event loop an async holder took it on)."""
        with self._lock:
            self._in_flight -= 1
            if loop is not None:
                left = self._loops.get(loop, 1) - 1
                if left:
                    self._loops[loop] = left
                else:
                    self._loops.pop(loop, None)
            if self._waiters:
                self._grant_waiters()
            if self._sleepers:
                self._freed.notify()

    def _grant_waiters(self) -> None:
        # Called with the lock held: hand free slots to async waiters in arrival order.
        for waiter in list(self._waiters):
            if self._in_flight >= waiter.limit:
                continue
            self._waiters.remove(waiter)
            try:
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
            except RuntimeError:  # its loop is closed: nobody is waiting any more
                continue
            waiter.granted = True
            self._in_flight += 1
            self._loops[waiter.loop] = self._loops.get(waiter.loop, 0) + 1


def _timeout_error(timeout: float | None) -> LimiterTimeoutError:
    return LimiterTimeoutError(
        f"No in-flight slot for this key came free within acquire_timeout={timeout} s "
        "(every slot stayed busy)"
    )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _after_fork_in_child() -> None:
    """A forked child (multiprocessing, gunicorn --preload, Celery prefork) starts with no slot
    held: slots its parent's threads held at the fork would otherwise never come back."""
    for slots in gates_of(KeySlots):
        slots._forget_holders()


if hasattr(os, "register_at_fork"):  # not on Windows, which never forks
    os.register_at_fork(after_in_child=_after_fork_in_child)


def slots_for_key(api_key: str) -> KeySlots:
    """The process-wide gate for this key (looked up by a hash, never by the key itself)."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    return one_per(("process", digest), KeySlots)


class Hold:
    """One sync hold of a `KeySlots` slot: a plain context manager (cheaper than a generator)."""

    __slots__ = ("_limit", "_slots", "_timeout")

    def __init__(self, slots: KeySlots, limit: int, timeout: float | None) -> None:
        self._slots, self._limit, self._timeout = slots, limit, timeout

    def __enter__(self) -> None:
        self._slots.acquire(self._limit, self._timeout)

    def __exit__(self, *exc_info: object) -> None:
        self._slots.release(None)


class AsyncHold:
    """One async hold of a `KeySlots` slot, released for the loop it was taken on."""

    __slots__ = ("_limit", "_loop", "_slots", "_timeout")

    def __init__(self, slots: KeySlots, limit: int, timeout: float | None) -> None:
        self._slots, self._limit, self._timeout = slots, limit, timeout
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> None:
        self._loop = await self._slots.acquire_async(self._limit, self._timeout)

    async def __aexit__(self, *exc_info: object) -> None:
        self._slots.release(self._loop)


class _NoHold:
    """The hold of no limit: nothing to take or give back (sync and async)."""

    __slots__ = ()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        pass

    async def __aenter__(self) -> None:
        pass

    async def __aexit__(self, *exc_info: object) -> None:
        pass


NO_HOLD = _NoHold()


class HeldSlot:
    """A stream's slot, released once: when the stream ends, or earlier, from the watchdog's
    thread, once the stream's connection was shut down because its consumer went away."""

    __slots__ = ("_hold", "_lock", "_released")

    def __init__(self, hold: AbstractContextManager[None]) -> None:
        self._hold = hold
        self._lock = threading.Lock()
        self._released = False

    def __enter__(self) -> HeldSlot:
        self._hold.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the slot back (any thread; a second call does nothing)."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._hold.__exit__(None, None, None)


class AsyncHeldSlot:
    """The same for an async stream: an early release is run on the stream's event loop."""

    __slots__ = ("_hold", "_loop", "_released")

    def __init__(self, hold: AbstractAsyncContextManager[None]) -> None:
        self._hold = hold
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released = False

    async def __aenter__(self) -> AsyncHeldSlot:
        import asyncio

        await self._hold.__aenter__()
        self._loop = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.release()

    async def release(self) -> None:
        """Give the slot back (on the loop's thread only: no lock needed; once)."""
        if not self._released:
            self._released = True
            await self._hold.__aexit__(None, None, None)

    def release_soon(self) -> None:
        """Schedule `release` on the stream's loop (from any thread)."""
        loop = self._loop
        if loop is None or self._released:
            return

        def start() -> None:
            task = loop.create_task(self.release())
            _RELEASING.add(task)
            task.add_done_callback(_RELEASING.discard)

        with contextlib.suppress(RuntimeError):  # a closed loop: its holds went with it
            loop.call_soon_threadsafe(start)


# Early releases in progress (a task without a reference may be garbage-collected mid-way).
_RELEASING: set[asyncio.Task[None]] = set()
