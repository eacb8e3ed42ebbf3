"""`stream_idle_timeout` is the stream reader's own check, not httpx's read timeout: a server
that sent a first event and then keeps sending bytes (so no read ever times out) but never
completes another event is cut off. (Before the first event `first_byte_timeout` applies.)

The emulator sends whole events, so a 40-line loopback server here sends one event, then
dribbles one byte of an unfinished `data:` line every 50 ms, for up to 5 s.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from modelslab_transport import (
    APITimeoutError,
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
)
from modelslab_transport._stream_reader import StreamReader
from tests.support.transport_calls import payload

KEY = "sk-idle-test-93d1"
IDLE = 0.3
DRIBBLE = 0.05  # far below IDLE: httpx's per-read timeout never fires
LASTS = 5.0


def _serve(listener: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_dribble, args=(conn, stop), daemon=True).start()


def _dribble(conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(65536)
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += conn.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked"
        deadline = time.monotonic() + LASTS
        try:
            conn.sendall(head + b"\r\nConnection: close\r\n\r\n")
            conn.sendall(_chunk(FIRST_EVENT) + _chunk(b"data:"))
            while time.monotonic() < deadline and not stop.wait(DRIBBLE):
                conn.sendall(b"1\r\n \r\n")  # one more space of a data line that never ends
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            return  # the client hung up: what the test wants


FIRST_EVENT = b'data: {"id":"gen-1","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@pytest.fixture
def dribbler() -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, stop), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v7/llm"
    finally:
        stop.set()
        listener.close()


def test_sync_stream_stops_when_bytes_come_but_no_event(dribbler: str) -> None:
    started = time.monotonic()
    with (
        ModelsLabClient(
            api_key=KEY, base_url=dribbler, stream_idle_timeout=IDLE, max_retries=0
        ) as client,
        pytest.raises(APITimeoutError, match="stream_idle_timeout"),
    ):
        list(client.stream_chat(payload("hi")))
    assert time.monotonic() - started < LASTS / 2


def test_async_stream_stops_when_bytes_come_but_no_event(dribbler: str) -> None:
    async def go() -> None:
        async with AsyncModelsLabClient(
            api_key=KEY, base_url=dribbler, stream_idle_timeout=IDLE, max_retries=0
        ) as client:
            async for _ in client.stream_chat(payload("hi")):
                pass

    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="stream_idle_timeout"):
        asyncio.run(go())
    assert time.monotonic() - started < LASTS / 2


def _reader(idle: float) -> StreamReader:
    settings = ClientSettings.from_kwargs(api_key="sk-x", stream_idle_timeout=idle)
    reader = StreamReader("sk-x", settings, time.monotonic())
    assert reader.feed(FIRST_EVENT)  # from the first event on, the idle limit applies
    return reader


def test_reader_counts_only_events_and_comments_as_activity() -> None:
    reader = _reader(0.2)
    assert reader.feed(b": keep-alive\n\n") == []
    assert reader.feed(b"data: {") == []  # bytes, but no event: the clock keeps running
    time.sleep(0.25)
    with pytest.raises(APITimeoutError, match="stream_idle_timeout"):
        reader.feed(b'"id": "x"')
    fresh = _reader(0.2)
    fresh.feed(b": keep-alive\n\n")
    time.sleep(0.25)
    assert fresh.feed(b": still here\n\n") == []  # a comment is activity: no timeout
