"""An ASGI application served by uvicorn on a free loopback port, in a thread, for a test."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

__all__ = ["leave_after_first_bytes", "serve", "unique_key", "wait_until"]


def unique_key() -> str:
    """A key of its own, so no other test shares its process-wide in-flight slots."""
    return f"test-key-{uuid.uuid4().hex}"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` until the block ends; yields its root URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def leave_after_first_bytes(url: str) -> bytes:
    """GET `url` as a browser would, read the first bytes of the streamed answer, and leave
    (the connection is closed with the answer unfinished)."""
    with httpx.Client(timeout=10) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            if chunk:
                return chunk
    raise AssertionError("the endpoint streamed nothing")


def wait_until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition()` held; fails after `within` seconds."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        assert elapsed < within, f"not within {within} s"
        time.sleep(0.02)
    return time.monotonic() - started
