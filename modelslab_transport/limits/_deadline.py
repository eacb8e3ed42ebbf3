"""A stream's time limits: its two silences (before its first event, between events after it)
as httpx timeouts, and the watchdog that enforces the one that applies at the moment.

The watchdog (one daemon thread for all streams) shuts a stream's socket down when its deadline
passes, which ends the blocked read (sync or async) at once; a reader moves the deadline with a
plain attribute write per event: no lock, no timer object per chunk.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

__all__ = [
    "Deadline",
    "StreamSettings",
    "abort",
    "header_timeouts",
    "socket_of",
    "stream_limits",
    "stream_timeout",
    "watch",
]


class _Timeouts(Protocol):
    # What is read of `Timeouts` (typed here: limits import nothing of the settings module).
    @property
    def connect(self) -> float | None: ...
    @property
    def read(self) -> float | None: ...
    @property
    def write(self) -> float | None: ...
    @property
    def pool(self) -> float | None: ...
    def httpx(self) -> httpx.Timeout: ...


class StreamSettings(Protocol):
    """What a stream's time limits read of `ClientSettings`."""

    @property
    def timeout(self) -> _Timeouts: ...
    @property
    def first_byte_timeout(self) -> float | None: ...
    @property
    def stream_idle_timeout(self) -> float | None: ...


def _at_most(limit: float | None, cap: float | None) -> float | None:
    if limit is None:
        return cap
    return limit if cap is None else min(limit, cap)


def stream_limits(settings: StreamSettings) -> tuple[float | None, float | None]:
    """A stream's longest silences: before its first event, and between events after it.

    Both are also bounded by the read timeout; None is no limit.
    """
    read = settings.timeout.read
    return (
        _at_most(settings.first_byte_timeout, read),
        _at_most(settings.stream_idle_timeout, read),
    )


def stream_timeout(settings: StreamSettings) -> httpx.Timeout:
    """httpx's per-read timeout for a stream: the longer of its two limits (the stream reader
    and its watchdog enforce whichever applies at the moment)."""
    timeout = settings.timeout
    first, idle = stream_limits(settings)
    read = None if first is None or idle is None else max(first, idle)
    if read == timeout.read:
        return timeout.httpx()
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


def header_timeouts(settings: StreamSettings) -> dict[str, float | None]:
    """httpx's `timeout` extension for a stream request, until its headers are in: the read
    timeout is the first-byte limit, so a server holding back its headers fails in
    `first_byte_timeout`. The client then sets `read` to `stream_timeout`'s, before the body's
    first read (httpcore reads the value when the body's reading starts)."""
    timeouts = stream_timeout(settings).as_dict()
    timeouts["read"] = stream_limits(settings)[0]
    return timeouts


# -- the watchdog -------------------------------------------------------------------------------


class _Socket(Protocol):
    # socket.socket, ssl.SSLSocket and asyncio's TransportSocket all have it.
    def fileno(self) -> int: ...


class Deadline:
    """When the stream must next show a sign of life (`at`, monotonic seconds)."""

    __slots__ = ("at", "consumer", "fired", "on_abandon", "parked", "sock", "tick")

    def __init__(
        self,
        sock: _Socket,
        at: float,
        consumer_limit: float | None = None,
        on_abandon: Callable[[], None] | None = None,
    ) -> None:
        self.at = at
        self.sock = sock
        self.fired = False
        # True while the caller holds an event: `at` is then the consumer's deadline.
        self.consumer = False
        self.on_abandon = on_abandon
        # `pause` may move `at` earlier without a notify: the watchdog wakes this often.
        self.tick = math.inf if consumer_limit is None else min(1.0, consumer_limit / 10)
        # Set by the watchdog while it holds no wake-up time for this deadline (`at` was
        # infinite: the stream is paused); whoever makes `at` finite again must `advance`.
        self.parked = False

    def release(self) -> None:
        """Stop watching (call before the response is closed and its connection reused)."""
        _WATCHDOG.release(self)

    def advance(self, at: float) -> None:
        """Move the deadline earlier (a plain write to `at` is enough to move it later)."""
        _WATCHDOG.advance(self, at)


class _Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: set[Deadline] = set()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> Deadline:
        with self._cond:
            self._watched.add(deadline)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="modelslab-stream-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return deadline

    def release(self, deadline: Deadline) -> None:
        with self._cond:
            self._watched.discard(deadline)

    def advance(self, deadline: Deadline, at: float) -> None:
        with self._cond:
            deadline.at = at
            self._cond.notify()

    def _run(self) -> None:
        while True:
            abandoned: list[Callable[[], None]] = []
            with self._cond:
                now = time.monotonic()
                earliest: float | None = None
                for deadline in list(self._watched):
                    deadline.parked = True  # before reading `at`: see StreamReader.resume
                    at = deadline.at
                    if at <= now:
                        # Under the lock: `release` cannot hand the connection back meanwhile.
                        self._watched.discard(deadline)
                        deadline.fired = True
                        _shut_down(deadline.sock)
                        if deadline.consumer and deadline.on_abandon is not None:
                            abandoned.append(deadline.on_abandon)
                        continue
                    if at != math.inf:  # (inf: a paused stream, nothing to wake for)
                        deadline.parked = False
                    wake = min(at, now + deadline.tick)
                    if wake != math.inf and (earliest is None or wake < earliest):
                        earliest = wake
                if not abandoned:
                    # Plain writes only move deadlines later (`advance` notifies when one moves
                    # earlier; `pause` is caught by the tick), so the earliest one is enough.
                    self._cond.wait(None if earliest is None else max(earliest - now, 0.001))
            for release in abandoned:  # outside the lock: a shared limiter's release is I/O
                with contextlib.suppress(Exception):
                    release()


def _shut_down(sock: _Socket) -> None:
    # Through a duplicate descriptor: the shutdown reaches the connection without touching
    # the socket object (an SSLSocket) that the reading thread is blocked in.
    with contextlib.suppress(OSError, ValueError):
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()


def socket_of(extensions: dict[str, Any]) -> _Socket | None:
    """The socket under an httpx response, or None (a mock or custom transport)."""
    stream = extensions.get("network_stream")
    get_extra_info = getattr(stream, "get_extra_info", None)
    if get_extra_info is None:
        return None
    try:
        sock = get_extra_info("socket")
    except Exception:  # a transport's own stream type may not know the key
        return None
    return sock if callable(getattr(sock, "fileno", None)) else None


_WATCHDOG = _Watchdog()


def watch(
    sock: _Socket,
    at: float,
    consumer_limit: float | None = None,
    on_abandon: Callable[[], None] | None = None,
) -> Deadline:
    """Shut `sock` down unless the returned deadline's `at` keeps moving past the clock; if it
    fires while the consumer holds an event, call `on_abandon` afterwards."""
    return _WATCHDOG.watch(Deadline(sock, at, consumer_limit, on_abandon))


def abort(response: httpx.Response) -> None:
    """Shut the response's connection down now, from any thread or a cancelled task, without
    touching httpx's objects: the server sees it closed at once (httpx still closes it)."""
    sock = socket_of(response.extensions)
    if sock is not None:
        _shut_down(sock)
