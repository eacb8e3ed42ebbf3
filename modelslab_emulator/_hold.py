"""Waiting inside a request while watching its connection: a server sees a client leave.

``hold-headers;delay=S`` keeps the response headers back for S seconds (a queue that answers
only when a request's turn comes); the wait ends early when the client closes its side, as a
real server notices a closed socket. ``wait_or_gone`` also paces ``trickle``.
"""

from __future__ import annotations

import select
import socket
import threading
import time

__all__ = ["client_gone", "wait_or_gone"]

_SLICE = 0.05


def client_gone(connection: socket.socket, wait: float = 0.0) -> bool:
    """True when the client has closed (or reset) its side of `connection`; waits up to
    `wait` seconds for that (a close is seen the moment it arrives)."""
    return _peek(connection, wait) == b""


def wait_or_gone(connection: socket.socket, stopping: threading.Event, delay: float) -> bool:
    """Wait `delay` seconds; True as soon as the server stops or the client leaves."""
    end = time.monotonic() + delay
    while not stopping.is_set():
        left = end - time.monotonic()
        peeked = _peek(connection, max(0.0, min(_SLICE, left)))
        if peeked == b"":
            return True
        if left <= 0:
            return False
        if peeked:  # a request sent early: readable, yet not gone
            stopping.wait(min(_SLICE, left))
    return True


def _peek(connection: socket.socket, wait: float) -> bytes | None:
    """None while nothing arrived within `wait`; b"" once the client closed its side; else
    the first waiting byte (left in place)."""
    try:
        readable, _, _ = select.select([connection], [], [], wait)
        if not readable:
            return None
        # Readable, so this returns at once (a socket with a timeout polls before reading).
        return connection.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return None
    except (OSError, ValueError):
        return b""
