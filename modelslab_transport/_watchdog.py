"""Stream deadlines enforced while a read is blocked: one daemon thread for all streams.

httpx applies one read timeout to every read of a response, but a stream needs two: a long
wait for its first event (an account's requests are served in queue order) and a short one
between events after that. The stream is sent with the longer of the two as httpx's read
timeout; this watchdog enforces the current limit by shutting the stream's socket down when
its deadline passes, which ends the blocked read (sync or async) at once. The reader updates
the deadline with a plain attribute write per event: no lock, no timer object per chunk.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from typing import Any, Protocol

__all__ = ["Deadline", "socket_of", "watch"]


class _Socket(Protocol):
    # socket.socket, ssl.SSLSocket and asyncio's TransportSocket all have it.
    def fileno(self) -> int: ...


class Deadline:
    """When the stream must next show a sign of life (`at`, monotonic seconds)."""

    __slots__ = ("at", "fired", "parked", "sock")

    def __init__(self, sock: _Socket, at: float) -> None:
        self.at = at
        self.sock = sock
        self.fired = False
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

    def watch(self, sock: _Socket, at: float) -> Deadline:
        deadline = Deadline(sock, at)
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
        with self._cond:
            while True:
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
                    elif at != math.inf:  # (inf: a paused stream, nothing to wake for)
                        deadline.parked = False
                        if earliest is None or at < earliest:
                            earliest = at
                # Plain writes only move deadlines later (`advance` notifies when one moves
                # earlier), so waking at the earliest known one is enough.
                self._cond.wait(None if earliest is None else max(earliest - now, 0.001))


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


def watch(sock: _Socket, at: float) -> Deadline:
    """Shut `sock` down unless the returned deadline's `at` keeps moving past the clock."""
    return _WATCHDOG.watch(sock, at)
