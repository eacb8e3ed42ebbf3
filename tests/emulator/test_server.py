"""Request log, in-flight tracking, concurrency, disconnects and shutdown."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from modelslab_emulator import Emulator, RecordedRequest
from tests.support.stdlib_http import KEY, LLAMA, call, chat, user


def test_request_log_redacts_key(emu: Emulator) -> None:
    marker = f"log-{uuid.uuid4().hex}"
    body = {"model_id": LLAMA, "messages": user("hi"), "key": KEY}
    call(emu, "/chat/completions", body, scenario=f"no-usage;id={marker}")
    call(
        emu,
        "/chat/completions",
        body,
        key=None,
        headers={"x-api-key": KEY},
        scenario=f"forbidden;id={marker}",
    )
    mine = [r for r in emu.requests if r.scenario and marker in r.scenario]
    assert [r.status for r in mine] == [200, 403]
    first = mine[0]
    assert isinstance(first, RecordedRequest)
    assert first.method == "POST"
    assert first.path == "/api/v7/llm/chat/completions"
    assert first.headers["authorization"] == "[REDACTED]"
    assert mine[1].headers["x-api-key"] == "[REDACTED]"
    assert first.body["key"] == "[REDACTED]"
    assert first.body["messages"] == user("hi")
    assert first.received_at <= mine[1].received_at
    assert KEY not in repr(emu.requests)
    with pytest.raises(AttributeError):
        first.status = 1  # type: ignore[misc]


def test_clear_forgets_requests() -> None:
    with Emulator() as emu:
        chat(emu, messages=user("hi"))
        assert len(emu.requests) == 1
        emu.clear()
        assert emu.requests == []


def _slow_request(emu: Emulator, key: str) -> int:
    body = {"model_id": LLAMA, "messages": user("hi")}
    return call(
        emu, "/chat/completions", body, key=key, scenario="slow-first-byte;delay=0.4"
    ).status


def test_max_in_flight_per_key() -> None:
    with Emulator() as emu, ThreadPoolExecutor(16) as pool:
        jobs = [pool.submit(_slow_request, emu, "secret-alpha") for _ in range(10)]
        jobs += [pool.submit(_slow_request, emu, "secret-beta") for _ in range(3)]
        assert {j.result() for j in jobs} == {200}
        maxima = emu.max_in_flight
        assert maxima[Emulator.fingerprint("secret-alpha")] == 10
        assert maxima[Emulator.fingerprint("secret-beta")] == 3
        assert emu.max_in_flight_total == 13
        assert "secret-alpha" not in json.dumps(maxima)
        # A handler counts out before its reply's last byte: once every reply is read,
        # nothing is in flight (no wait), so a client's next request is never counted twice.
        assert emu.in_flight == {}


def test_queue_limit() -> None:
    with Emulator() as emu, ThreadPoolExecutor(8) as pool:
        body = {"model_id": LLAMA, "messages": user("hi")}
        scenario = "queue-limit;max=3;retry_after=1, slow-first-byte;delay=0.4"
        jobs = [
            pool.submit(lambda: call(emu, "/chat/completions", body, scenario=scenario).status)
            for _ in range(6)
        ]
        statuses = sorted(j.result() for j in jobs)
        assert statuses.count(200) >= 3
        assert 429 in statuses


def test_many_concurrent_connections() -> None:
    # Every client thread exists before any request is sent (a loaded machine starts 130
    # threads slowly), and each request holds its first byte for a second: the count says
    # how many connections the server held at once, not how fast the test's pool started.
    ready = threading.Barrier(130)
    with Emulator() as emu, ThreadPoolExecutor(130) as pool:
        body = {"model_id": LLAMA, "messages": user("a b c d"), "stream": True}

        def one(i: int) -> bytes:
            ready.wait(timeout=30)
            return call(
                emu,
                "/chat/completions",
                body,
                key=f"k{i % 5}",
                scenario="slow-first-byte;delay=1.0, trickle;delay=0.01",
            ).body

        results = list(pool.map(one, range(130)))
        assert all(r.endswith(b"data: [DONE]\n\n") for r in results)
        assert emu.max_in_flight_total >= 100


def trickled_stream_request(emu: Emulator, delay: float) -> str:
    """The raw bytes of a streamed chat whose chunks the emulator sends `delay` seconds apart."""
    parts = urlsplit(emu.base_url)
    data = json.dumps({"model_id": LLAMA, "messages": user("a b c d e f"), "stream": True})
    return (
        f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {KEY}\r\nX-Emulator-Scenario: trickle;delay={delay}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n{data}"
    )


def test_client_disconnect_mid_stream(emu: Emulator) -> None:
    request = trickled_stream_request(emu, delay=0.05)
    for _ in range(3):
        with socket.create_connection((emu.host, emu.port), timeout=5) as sock:
            sock.sendall(request.encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
    assert chat(emu, messages=user("still alive")).status == 200
    deadline = time.monotonic() + 3
    while emu.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the closed sockets on its next writes
    assert emu.in_flight == {}


def test_stop_closes_live_connections() -> None:
    emu = Emulator().start()
    request = trickled_stream_request(emu, delay=5)
    sock = socket.create_connection((emu.host, emu.port), timeout=5)
    sock.sendall(request.encode())
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    idle = socket.create_connection((emu.host, emu.port), timeout=5)
    start = time.monotonic()
    emu.stop()
    while sock.recv(4096):
        pass
    # an idle connection is closed, or reset if it was never accepted
    with contextlib.suppress(ConnectionResetError):
        assert idle.recv(10) == b""
    assert time.monotonic() - start < 3
    sock.close()
    idle.close()


def test_keep_alive_reuses_connection(emu: Emulator) -> None:
    import http.client

    parts = urlsplit(emu.base_url)
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    payload = json.dumps({"model_id": LLAMA, "messages": user("hi"), "stream": True})
    for _ in range(3):
        conn.request("POST", f"{parts.path}/chat/completions", payload, {"x-api-key": KEY})
        resp = conn.getresponse()
        assert resp.read().endswith(b"data: [DONE]\n\n")
    conn.close()


def test_restart_same_object() -> None:
    emu = Emulator()
    with emu:
        first = emu.port
        assert chat(emu, messages=user("x")).status == 200
    # Stopped: the port refuses connections and the serving thread is gone.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", first), timeout=5).close()
    assert not [t for t in threading.enumerate() if t.name == f"modelslab-emulator:{first}"]
    with emu:  # the same object serves again, on the same port, keeping its log
        assert emu.port == first
        assert chat(emu, messages=user("y")).status == 200
        assert [t for t in threading.enumerate() if t.name == f"modelslab-emulator:{first}"]
        bodies = [r.body["messages"][-1]["content"] for r in emu.requests]
        assert bodies == ["x", "y"]
