"""A per-key in-flight limit shared by every process and machine through one Redis.

Same interface as the in-process `KeySlots` (`hold(limit)` / `hold_async(limit)` around each
request), so a client can use either. A slot is a lease with a TTL, renewed while it is held:
a holder that dies (SIGKILL) gives its slot back within `lease_seconds + poll_seconds`.
Waiters block on Redis (BLPOP on their own wake-up list, pushed when a slot they fit in comes
free) and are served in arrival order; within one process (one event loop) only `limit` of
them go on to Redis, the rest queue in front (`ThreadGate`/`LoopGate` in `limits._gates`). Redis is
imported on first use, never by `import modelslab_transport`.

>>> slots = redis_slots("redis://localhost:6379/0", api_key)  # doctest: +SKIP
>>> with slots.hold(5):  # at most 5 in flight for this key, across every process
...     send_the_request()  # doctest: +SKIP"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, NoReturn

from ..._errors import InvalidInputError
from .._errors import LimiterTimeoutError, LimiterUnavailableError
from .._gates import LoopGate, PerLoop, ThreadGate, cancel_raised
from .._registry import one_per
from .._slots import KeySlots, slots_for_key
from .._url import check_url, display_url
from ._store import (
    LimiterKeys,
    RedisConn,
    RedisLimiterSettings,
    RedisLink,
    check_limit,
    redis_errors,
)

if TYPE_CHECKING:
    pass

__all__ = ["LeaseRenewer", "RedisSlots", "redis_slots"]


logger = logging.getLogger("modelslab_transport")


class RedisSlots:
    """A counting gate for one key whose count lives in Redis; build it with `redis_slots`."""

    def __init__(
        self,
        url: str,
        key_hash: str,
        settings: RedisLimiterSettings | None = None,
        *,
        local: KeySlots | None = None,
    ) -> None:
        check_url(url)
        settings = settings or RedisLimiterSettings()
        if settings.fallback_to_local and local is None:
            raise InvalidInputError("fallback_to_local needs the in-process slots to fall back to")
        self._settings = settings
        poll, redis_timeout = settings.poll_seconds, settings.redis_timeout
        self._link = RedisLink(
            url, socket_timeout=poll + redis_timeout, connect_timeout=redis_timeout
        )
        self._where = display_url(url)
        self._keys = LimiterKeys(key_hash)
        self._hash_prefix = key_hash[:8]
        self._local = local
        # Only `limit` callers per process (per loop) wait in Redis; the rest queue here.
        self._threads, self._pid = ThreadGate(), os.getpid()
        self._loop_gates = PerLoop(LoopGate)
        self._renewer = LeaseRenewer(self._renew_sync, self._lease_lost, settings.lease_seconds / 3)
        # Outage flags, so that a long outage logs one warning, not one per request or lease.
        self._degraded = False
        self._renewal_failing = False

    def __repr__(self) -> str:
        return f"RedisSlots({self._where!r}, key sha256 {self._hash_prefix}…)"

    # -- the KeySlots interface ---------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Slots of this key held right now, by every process using this Redis."""
        return self._counts()[0]

    @property
    def waiting(self) -> int:
        """Callers waiting in Redis for a slot of this key, from every process (each process
        sends at most `limit` callers there; the rest wait in front, in their process)."""
        return self._counts()[1]

    @contextmanager
    def hold(self, limit: int | None) -> Iterator[None]:
        """Block this thread until a slot is free under `limit`, then hold it (None: no limit)."""
        if limit is None:
            yield
            return
        deadline = self._deadline(limit)
        gate = self._thread_gate()
        gate.acquire(limit, deadline, self._timed_out)
        try:
            conn = self._link.sync()
            local: KeySlots | None = None
            try:
                ticket = self._acquire(conn, limit, deadline)
            except LimiterUnavailableError as exc:
                local = self._fall_back(exc)
            if local is not None:
                with local.hold(limit):
                    yield
                return
            self._degraded = False
            self._renewer.add(ticket)
            try:
                yield
            finally:
                self._renewer.remove(ticket)
                try:
                    conn.release(keys=self._keys.state, args=self._release_args(ticket, limit))
                except redis_errors() as exc:
                    self._release_failed(exc)
        finally:
            gate.release()

    @asynccontextmanager
    async def hold_async(self, limit: int | None) -> AsyncIterator[None]:
        """Wait (without blocking the loop) for a slot under `limit`, then hold it."""
        if limit is None:
            yield
            return
        import asyncio  # here, not at module level: `import modelslab_transport` stays light

        deadline = self._deadline(limit)
        gate = self._loop_gate()
        try:
            await gate.acquire(limit, None if deadline is None else deadline - time.monotonic())
        except asyncio.TimeoutError:
            raise self._timeout_error() from None
        try:
            conn = self._link.for_running_loop()
            local: KeySlots | None = None
            try:
                ticket = await self._acquire_async(conn, limit, deadline)
            except LimiterUnavailableError as exc:
                local = self._fall_back(exc)
            if local is not None:
                async with local.hold_async(limit):
                    yield
                return
            self._degraded = False
            renewal = asyncio.create_task(self._renew_async(conn, ticket))
            try:
                yield
            finally:
                renewal.cancel()
                try:
                    await conn.release(
                        keys=self._keys.state, args=self._release_args(ticket, limit)
                    )
                except redis_errors() as exc:
                    self._release_failed(exc)
        finally:
            gate.release()

    def close(self) -> None:
        """Close the sync connection pool (the asyncio ones go with their event loops)."""
        self._link.close()

    # -- waiting for a slot -------------------------------------------------------------------

    def _acquire(self, conn: RedisConn, limit: int, deadline: float | None) -> str:
        ticket = secrets.token_hex(16)
        args = self._acquire_args(ticket, limit)
        try:
            while not conn.acquire(keys=self._keys.state, args=args):
                conn.client.blpop([self._keys.wake(ticket)], timeout=self._wait(deadline))
        except redis_errors() as exc:
            # Redis is gone: the ticket expires there on its own; no second wait to clean up.
            raise self._unavailable(exc) from exc
        except BaseException:
            try:
                conn.release(keys=self._keys.state, args=self._release_args(ticket, limit))
            except redis_errors():
                pass  # the ticket (or a lease granted as we gave up) expires on its own
            raise
        return ticket

    async def _acquire_async(self, conn: RedisConn, limit: int, deadline: float | None) -> str:
        ticket = secrets.token_hex(16)
        args = self._acquire_args(ticket, limit)
        try:
            # redis-py sends each command through `asyncio.wait_for`, which can swallow a
            # cancellation before Python 3.12: `cancel_raised` raises it, or a cancelled
            # waiter would wait on (and take a slot) as if nothing happened.
            while True:
                granted = await cancel_raised(conn.acquire(keys=self._keys.state, args=args))
                if granted:
                    break
                await cancel_raised(
                    conn.client.blpop([self._keys.wake(ticket)], timeout=self._wait(deadline))
                )
        except redis_errors() as exc:
            raise self._unavailable(exc) from exc
        except BaseException:  # a timeout, or the task was cancelled while waiting
            try:
                await conn.release(keys=self._keys.state, args=self._release_args(ticket, limit))
            except redis_errors():
                pass
            raise
        return ticket

    def _deadline(self, limit: int) -> float | None:
        """When a wait for a slot under `limit` gives up (None: never); checks `limit` first."""
        check_limit(limit)
        timeout = self._settings.acquire_timeout
        return None if timeout is None else time.monotonic() + timeout

    def _wait(self, deadline: float | None) -> float:
        # BLPOP's timeout: one poll (a safety net that re-checks expired leases), or less.
        if deadline is None:
            return self._settings.poll_seconds
        left = deadline - time.monotonic()
        if left <= 0:
            self._timed_out()
        return min(self._settings.poll_seconds, max(left, 0.01))

    def _timed_out(self) -> NoReturn:
        raise self._timeout_error()

    def _timeout_error(self) -> LimiterTimeoutError:
        timeout = self._settings.acquire_timeout
        return LimiterTimeoutError(
            f"no slot of this key came free within acquire_timeout={timeout}s "
            f"(shared limiter at {self._where}); nothing was sent"
        )

    def _thread_gate(self) -> ThreadGate:
        if self._pid != os.getpid():
            # A forked child starts with nobody holding or waiting, whatever the parent had.
            self._threads, self._pid = ThreadGate(), os.getpid()
        return self._threads

    def _loop_gate(self) -> LoopGate:
        return self._loop_gates.get()

    def _acquire_args(self, ticket: str, limit: int) -> list[str | int]:
        s, wake = self._settings, self._keys.wake_prefix
        return [ticket, limit, s.lease_ms, s.ticket_ms, wake, s.idle_ms]

    def _release_args(self, ticket: str, limit: int) -> list[str | int]:
        return [ticket, limit, self._keys.wake_prefix, self._settings.ticket_ms]

    # -- keeping a lease ----------------------------------------------------------------------

    def _renew_sync(self, ticket: str) -> bool:
        conn = self._link.sync()
        try:
            alive = bool(conn.renew(keys=self._keys.state, args=self._renew_args(ticket)))
        except redis_errors() as exc:
            self._renewal_failed(exc)
            return True  # keep trying: the lease lasts lease_seconds, renewal runs thrice in it
        self._renewal_failing = False
        return alive

    async def _renew_async(self, conn: RedisConn, ticket: str) -> None:
        import asyncio

        while True:
            await asyncio.sleep(self._settings.lease_ms / 3000)
            try:
                alive = await conn.renew(keys=self._keys.state, args=self._renew_args(ticket))
            except redis_errors() as exc:
                self._renewal_failed(exc)
                continue
            self._renewal_failing = False
            if not alive:
                self._lease_lost(ticket)
                return

    def _renew_args(self, ticket: str) -> list[str | int]:
        return [ticket, self._settings.lease_ms, self._settings.idle_ms]

    # -- failures -----------------------------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> LimiterUnavailableError:
        return LimiterUnavailableError(
            f"the shared limiter's Redis at {self._where} is unavailable "
            f"({type(exc).__name__}: {exc}); nothing was sent"
        )

    def _fall_back(self, exc: LimiterUnavailableError) -> KeySlots:
        if not self._settings.fallback_to_local or self._local is None:
            raise exc
        if not self._degraded:  # once per outage, not once per request
            self._degraded = True
            logger.warning(
                "%s; fallback_to_local is set, so the limit is now held per process only",
                exc.message,
            )
        return self._local

    def _renewal_failed(self, exc: BaseException) -> None:
        if self._renewal_failing:
            return
        self._renewal_failing = True
        logger.warning(
            "could not renew a slot lease at %s (%s: %s); it expires in at most %.0fs",
            self._where,
            type(exc).__name__,
            exc,
            self._settings.lease_ms / 1000,
        )

    def _lease_lost(self, ticket: str) -> None:
        logger.warning(
            "a slot lease at %s is gone before its request ended (Redis unreachable or this "
            "process stalled for longer than the lease, or Redis restarted empty); the key may "
            "exceed its limit meanwhile",
            self._where,
        )

    def _release_failed(self, exc: BaseException) -> None:
        # Not raised: the answer is already here, and the lease frees itself within its TTL.
        logger.warning(
            "could not release a slot at %s (%s: %s); it frees itself within %.0fs",
            self._where,
            type(exc).__name__,
            exc,
            self._settings.lease_ms / 1000,
        )

    # -- counts -------------------------------------------------------------------------------

    def _counts(self) -> tuple[int, int]:
        try:
            leases, waiting = self._link.sync().count(keys=[self._keys.leases, self._keys.queue])
        except redis_errors() as exc:
            raise self._unavailable(exc) from exc
        return int(leases), int(waiting)


def redis_slots(
    url: str,
    api_key: str,
    *,
    lease_seconds: float = 15.0,
    poll_seconds: float = 1.0,
    redis_timeout: float = 2.0,
    acquire_timeout: float | None = None,
    fallback_to_local: bool = False,
) -> RedisSlots:
    """The process-wide shared gate for this key in the Redis at `url` (one per settings).

    The key is known to Redis, and kept here, only as its sha256; `fallback_to_local=True`
    uses this process's own `KeySlots` (with a WARNING, once per outage) while Redis is down.
    """
    settings = RedisLimiterSettings(
        lease_seconds, poll_seconds, redis_timeout, acquire_timeout, fallback_to_local
    )
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    local = slots_for_key(api_key)
    return one_per(
        ("redis", url, digest, settings), lambda: RedisSlots(url, digest, settings, local=local)
    )


class LeaseRenewer:
    """Calls `renew(lease_id)` every `period` seconds for each lease added, until removed.

    `renew` returns False when the lease is gone for good: it is dropped and, unless its holder
    released it meanwhile, `lost(lease_id)` is called. `renew` handles and reports its own
    errors (returning True keeps trying), so one failure never stops the thread.
    """

    def __init__(
        self, renew: Callable[[str], bool], lost: Callable[[str], None], period: float
    ) -> None:
        self._renew = renew
        self._lost = lost
        self._period = period
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._due: dict[str, float] = {}
        self._thread: threading.Thread | None = None

    def add(self, lease_id: str) -> None:
        if self._pid != os.getpid():
            # A forked child has the parent's bookkeeping but not its thread (nor its leases).
            self._reset()
        with self._cond:
            self._due[lease_id] = time.monotonic() + self._period
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="modelslab-lease-renewer", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def remove(self, lease_id: str) -> None:
        with self._cond:
            self._due.pop(lease_id, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [lease for lease, at in self._due.items() if at <= now]
                if not due:
                    wait = min(self._due.values(), default=now + 60.0) - now
                    self._cond.wait(timeout=wait)
                    continue
                for lease in due:
                    self._due[lease] = now + self._period
            # Renew outside the lock: a slow Redis must not block holders adding or removing.
            for lease in due:
                if self._renew(lease):
                    continue
                with self._cond:
                    still_held = self._due.pop(lease, None) is not None
                if still_held:
                    self._lost(lease)
