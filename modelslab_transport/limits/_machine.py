"""A per-key in-flight limit shared by every process of this user on this machine: the default.

Same interface as `RedisSlots` (`hold(limit)` / `hold_async(limit)` around each request). A
caller first takes a slot of this process's `KeySlots` (threads and async tasks of one process
count together there, with its EventLoopBlockedError check), then a machine slot: one byte of
the key's slot file, locked with a POSIX record lock (see `_slot_files`). The kernel releases
a dead holder's locks with its process, so a SIGKILLed holder's slot is free at once.

Waiting: a caller that finds no free byte joins this process's queue (first come, first served)
and one daemon thread per key and process serves it. That thread takes the key's turnstile
byte with a blocking lock (F_SETLKW: waiting processes sleep in the kernel, which hands the
turnstile on as it is released), then tries the slot bytes every `POLL_SECONDS` until one is
free, grants it to the head of its queue and lets the turnstile go, so the processes that wait
take turns. A release in this process wakes it at once; only a release in another process
waits for the next poll. Callers themselves only wait on an Event or an asyncio future: the
loop is never blocked, and a cancelled or timed-out waiter leaves the queue (a slot granted as
it gave up is given back at once).

>>> slots = machine_slots(api_key, base_url)  # doctest: +SKIP
>>> with slots.hold(5):  # at most 5 in flight for this key, across this machine's processes
...     send_the_request()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import LimiterTimeoutError
from ._gates import cancel_raised
from ._registry import one_per
from ._slot_files import (
    SLOT0,
    TURNSTILE,
    SlotFileError,
    lock,
    lock_is_free,
    open_slot_file,
    slot_directory,
    slot_file_path,
    try_lock,
    unlock,
)
from ._slots import NO_HOLD, KeySlots, slots_for_key

if TYPE_CHECKING:
    import asyncio

__all__ = ["POLL_SECONDS", "Held", "MachineSlots", "SlotFile", "machine_slots"]

logger = logging.getLogger("modelslab_transport")

# How often the waiter whose turn it is looks for a slot freed by another process (a release
# in this process wakes it at once). Measured (docs/scaling.md): 2 ms cost 2.9 % of a core
# while waiting, 5 ms 1.3 %, 10 ms 0.55 %, 20 ms 0.5 %; 10 ms adds at most 10 ms to a hand-over.
POLL_SECONDS = 0.01
_NO_MACHINE_SLOT = -1  # granted while degraded: only the in-process limit holds
Held = tuple[int, int]  # (the file's generation, slot): a slot taken before a fork is not ours


class _Waiter:
    __slots__ = ("event", "future", "limit", "loop", "slot")

    def __init__(
        self,
        limit: int,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.limit = limit
        self.loop, self.future = loop, future
        self.event = threading.Event() if future is None else None
        self.slot: int | None = None


class SlotFile:
    """One key's slot file in this process: its descriptor, the slots this process holds, its
    queue of waiters and the thread serving it. One per file per process (record locks belong
    to the process: two descriptors of one file in one process would hold the same bytes)."""

    def __init__(self, fd: int, path: Path) -> None:
        self.path, self._fd = path, fd
        self._reset()
        _files.add(self)

    def _reset(self) -> None:
        self._mutex = threading.Lock()  # taken directly on the fast paths: cheaper than _cond's
        self._cond = threading.Condition(self._mutex)
        self._queue: deque[_Waiter] = deque()
        self._held: set[int] = set()
        self._generation = getattr(self, "_generation", 0) + 1
        self._poller: threading.Thread | None = None
        self._polling = False  # the poller is taking, holding or releasing the turnstile
        self._broken: str | None = None

    def _after_fork(self) -> None:
        # A child holds none of the parent's record locks (they are per process), and none of
        # its threads run here: forget the parent's holders and waiters, reopen the file.
        self._reset()
        try:
            os.close(self._fd)
            self._fd = _reopen(self.path)
        except OSError as exc:
            self._broken = f"could not reopen {self.path.parent} ({exc.strerror or exc})"

    @property
    def in_flight(self) -> int:
        """Slots of this file held by this process right now."""
        return len(self._held)

    @property
    def waiting(self) -> int:
        """Callers of this process waiting for a slot of this file."""
        return len(self._queue)

    # -- taking a slot ------------------------------------------------------------------------

    def acquire(self, limit: int, deadline: float | None, timeout: float | None) -> Held:
        """Take a slot under `limit` by `deadline` (monotonic), or raise LimiterTimeoutError."""
        with self._mutex:
            slot = self._take_at_once(limit)
            if slot is not None:
                return self._generation, slot
            waiter = _Waiter(limit)
            self._enqueue(waiter)
        assert waiter.event is not None
        try:
            waiter.event.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        except BaseException:  # KeyboardInterrupt while waiting
            self._abandon(waiter)
            raise
        with self._cond:
            if waiter.slot is not None:
                return self._generation, waiter.slot
        self._abandon(waiter)  # timed out (a grant that came meanwhile is given back)
        raise _timeout_error(timeout)

    async def acquire_async(
        self, limit: int, deadline: float | None, timeout: float | None
    ) -> Held:
        """The same without blocking the event loop; a cancelled waiter leaves the queue."""
        import asyncio  # here, not at module level: `import modelslab_transport` stays light

        loop = asyncio.get_running_loop()
        with self._mutex:
            slot = self._take_at_once(limit)
            if slot is not None:
                return self._generation, slot
            waiter = _Waiter(limit, loop, loop.create_future())
            self._enqueue(waiter)
        assert waiter.future is not None
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
        try:
            await cancel_raised(asyncio.wait_for(waiter.future, timeout))
        except BaseException as exc:  # cancelled or timed out: leave, or give a late grant back
            self._abandon(waiter)
            if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
                raise _timeout_error(timeout) from None
            raise
        with self._cond:
            assert waiter.slot is not None
            return self._generation, waiter.slot

    def _abandon(self, waiter: _Waiter) -> None:
        """The waiter gave up: it leaves the queue, or gives back the slot granted meanwhile."""
        with self._cond:
            if waiter.slot is None:
                self._queue.remove(waiter)
            elif waiter.slot != _NO_MACHINE_SLOT:
                self._release(waiter.slot)
            self._cond.notify_all()

    def _take_at_once(self, limit: int) -> int | None:
        # With the lock held. Only when nobody of this process waits and its poller is idle,
        # so a newcomer does not overtake a queue, and no other process holds the turnstile
        # (one of its waiters is looking), so it does not overtake theirs either.
        if self._broken is not None:
            return _NO_MACHINE_SLOT
        if self._queue or self._polling:
            return None
        try:
            if not lock_is_free(self._fd, TURNSTILE):
                return None
            return self._free_slot(limit)
        except OSError as exc:
            self._break(exc)
            return _NO_MACHINE_SLOT

    def _free_slot(self, limit: int) -> int | None:
        # With the lock held: lock a slot byte under `limit` this process does not hold.
        for slot in range(limit):
            if slot not in self._held and try_lock(self._fd, SLOT0 + slot):
                self._held.add(slot)
                return slot
        return None

    def _enqueue(self, waiter: _Waiter) -> None:
        self._queue.append(waiter)
        if self._poller is None:
            self._poller = threading.Thread(
                target=self._poll, name="modelslab-slot-waiter", daemon=True
            )
            self._poller.start()
        self._cond.notify_all()

    def _grant(self, waiter: _Waiter, slot: int) -> None:
        # With the lock held: the waiter has left the queue.
        waiter.slot = slot
        if waiter.event is not None:
            waiter.event.set()
            return
        assert waiter.loop is not None
        assert waiter.future is not None
        try:
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
        except RuntimeError:  # its loop is closed: nobody will use the slot
            self._release(slot)

    # -- the waiter thread --------------------------------------------------------------------

    def _poll(self) -> None:
        try:
            self._serve()
        except Exception as exc:  # never leave waiters without a server: let them go on
            with self._cond:
                self._poller, self._polling = None, False
                self._break(OSError(f"{type(exc).__name__}: {exc}"))

    def _serve(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait(1.0)  # stay a moment for the next waiter, then end
                if not self._queue:
                    self._poller = None
                    return
                self._polling = True
            try:
                lock(self._fd, TURNSTILE)  # our turn among the waiting processes
            except OSError as exc:  # EDEADLK, ENOLCK: no longer trusted
                with self._cond:
                    self._polling = False
                    self._break(exc)
                continue
            with self._cond:
                try:
                    self._serve_one()
                except OSError as exc:
                    self._break(exc)
                finally:
                    with contextlib.suppress(OSError):
                        unlock(self._fd, TURNSTILE)
                    self._polling = False

    def _serve_one(self) -> None:
        # With the lock and the turnstile held: grant one slot to the head of the queue (then
        # the turnstile goes to the next waiting process), or return when the queue empties.
        while self._queue and self._broken is None:
            head = self._queue[0]
            slot = self._free_slot(head.limit)
            if slot is not None:
                self._queue.popleft()
                self._grant(head, slot)
                return
            self._cond.wait(POLL_SECONDS)  # a release in this process notifies at once

    # -- giving back --------------------------------------------------------------------------

    def give_back(self, held: Held) -> None:
        generation, slot = held
        with self._mutex:
            if generation == self._generation and slot != _NO_MACHINE_SLOT:
                self._release(slot)  # else taken before a fork: not this process's lock
            if self._poller is not None:  # only the poller waits on the condition
                self._cond.notify_all()

    def _release(self, slot: int) -> None:
        if slot in self._held:
            self._held.discard(slot)
            try:
                unlock(self._fd, SLOT0 + slot)
            except OSError as exc:
                self._break(exc)

    def _break(self, exc: OSError) -> None:
        # With the lock held: the file's locks failed; every waiter goes on under the
        # in-process limit only (one warning), never a hang.
        if self._broken is None:
            self._broken = f"record locks failed on {self.path.parent} ({exc.strerror or exc})"
            _warn_once(self._broken)
        while self._queue:
            self._grant(self._queue.popleft(), _NO_MACHINE_SLOT)


class MachineSlots:
    """A counting gate for one key and base URL shared by this machine's processes, with the
    same interface as `RedisSlots`; build it with `machine_slots`. A caller takes a slot of
    this process's `KeySlots` first, then one of the key's slot file."""

    def __init__(self, file: SlotFile, local: KeySlots, acquire_timeout: float | None) -> None:
        self._file, self._local, self._timeout = file, local, acquire_timeout

    def __repr__(self) -> str:
        return f"MachineSlots({str(self._file.path.parent)!r})"

    @property
    def in_flight(self) -> int:
        """Machine slots of this key held by this process right now."""
        return self._file.in_flight

    @property
    def waiting(self) -> int:
        """Callers of this process waiting for a machine slot of this key."""
        return self._file.waiting

    def hold(self, limit: int | None) -> AbstractContextManager[None]:
        """Block this thread until a slot is free under `limit`, then hold it (None: no limit)."""
        return (
            NO_HOLD if limit is None else MachineHold(self._file, self._local, limit, self._timeout)
        )

    def hold_async(self, limit: int | None) -> AbstractAsyncContextManager[None]:
        """Wait (without blocking the loop) for a slot under `limit`, then hold it."""
        if limit is None:
            return NO_HOLD
        return AsyncMachineHold(self._file, self._local, limit, self._timeout)


class MachineHold:
    """One sync hold: a slot of this process's `KeySlots`, then one of the key's slot file;
    given back in the reverse order. A plain context manager: cheaper than two generators."""

    __slots__ = ("_file", "_held", "_limit", "_local", "_timeout")

    def __init__(self, file: SlotFile, local: KeySlots, limit: int, timeout: float | None) -> None:
        self._file, self._local, self._limit, self._timeout = file, local, limit, timeout

    def __enter__(self) -> None:
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._local.acquire(self._limit, timeout)
        try:
            self._held = self._file.acquire(self._limit, deadline, timeout)
        except BaseException:
            self._local.release(None)
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._file.give_back(self._held)
        finally:
            self._local.release(None)


class AsyncMachineHold:
    """The same for an async caller: it waits without blocking the event loop."""

    __slots__ = ("_file", "_held", "_limit", "_local", "_loop", "_timeout")

    def __init__(self, file: SlotFile, local: KeySlots, limit: int, timeout: float | None) -> None:
        self._file, self._local, self._limit, self._timeout = file, local, limit, timeout

    async def __aenter__(self) -> None:
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._loop = loop = await self._local.acquire_async(self._limit, timeout)
        try:
            self._held = await self._file.acquire_async(self._limit, deadline, timeout)
        except BaseException:
            self._local.release(loop)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            self._file.give_back(self._held)
        finally:
            self._local.release(self._loop)


def _timeout_error(timeout: float | None) -> LimiterTimeoutError:
    return LimiterTimeoutError(
        f"No in-flight slot for this key came free on this machine within "
        f"acquire_timeout={timeout} s (every slot stayed busy); nothing was sent"
    )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _reopen(path: Path) -> int:
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags)


_files: weakref.WeakSet[SlotFile] = weakref.WeakSet()
_by_path: dict[Path, SlotFile] = {}
_warned: set[str] = set()


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        logger.warning(
            "the machine-local limiter cannot work: %s; the in-flight limit now holds per "
            "process only (set limiter_url='process' to choose that, or a redis:// URL)",
            reason,
        )


def machine_slots(
    api_key: str, base_url: str, *, acquire_timeout: float | None = None
) -> MachineSlots | None:
    """The process-wide machine-local gate for this key and base URL, or None (with one
    logged WARNING per reason) where it cannot work: then the caller uses `KeySlots` alone."""
    directory = slot_directory()
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    local = slots_for_key(api_key)

    def build() -> MachineSlots:
        path = slot_file_path(api_key, base_url, directory)
        file = _by_path.get(path)  # never a second descriptor: see open_slot_file
        if file is None:
            file = _by_path[path] = SlotFile(open_slot_file(path), path)
        return MachineSlots(file, local, acquire_timeout)

    try:
        return one_per(("machine", digest, base_url, acquire_timeout, directory), build)
    except SlotFileError as exc:
        _warn_once(str(exc))
        return None


def _reset_after_fork() -> None:
    for file in list(_files):
        file._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
