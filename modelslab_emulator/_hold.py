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


def client_gone(connection: socket.socket) -> bool:
    """True when the client has closed (or reset) its side of `connection`."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


def wait_or_gone(connection: socket.socket, stopping: threading.Event, delay: float) -> bool:
    """Wait `delay` seconds; True as soon as the server stops or the client leaves."""
    end = time.monotonic() + delay
    while True:
        if client_gone(connection):
            return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        if stopping.wait(min(_SLICE, left)):
            return True
