"""Standard-library HTTP helpers for the emulator tests (no client packages)."""

from __future__ import annotations

import http.client
import json
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from modelslab_emulator import Emulator

KEY = "sk-emulator-test-key-123"
MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"
#: What Magistral thinks after its one-line plan (documented): 1,200 tokens.
DELIBERATION = " ".join(["Let me check that once more."] * 200)
#: Room for Magistral's whole thought and a short answer (the API's default is 1000).
ROOMY = 2000


def thought(n: int) -> str:
    """Magistral's reasoning for a last user message of `n` words."""
    return f"The user wrote {n} words. I will answer plainly. {DELIBERATION}"


#: Tokens of `thought(n)`: the 9-word plan and the deliberation.
THOUGHT_TOKENS = 9 + 1200


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    emu: Emulator,
    path: str,
    body: Any = None,
    *,
    method: str | None = None,
    scenario: str | None = None,
    key: str | None = KEY,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 10,
) -> Response:
    """One request over a fresh http.client connection (redirects are not followed)."""
    parts = urlsplit(emu.base_url)
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=timeout)
    sent = dict(headers or {})
    if key is not None:
        sent.setdefault("Authorization", f"Bearer {key}")
    if scenario is not None:
        sent["X-Emulator-Scenario"] = scenario
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        sent["Content-Type"] = "application/json"
    verb = method or ("GET" if data is None else "POST")
    try:
        conn.request(verb, parts.path + path, body=data, headers=sent)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
    finally:
        conn.close()


def chat(emu: Emulator, scenario: str | None = None, **body: Any) -> Response:
    body.setdefault("model_id", LLAMA)
    return call(emu, "/chat/completions", body, scenario=scenario)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def raw_exchange(
    emu: Emulator, path: str, body: Any, scenario: str | None = None, timeout: float = 10
) -> bytes:
    """Send one HTTP/1.1 request on a raw socket and return every byte until the server closes."""
    parts = urlsplit(emu.base_url)
    data = json.dumps(body).encode()
    head = (
        f"POST {parts.path}{path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n"
    )
    if scenario:
        head += f"X-Emulator-Scenario: {scenario}\r\n"
    received = b""
    with socket.create_connection((emu.host, emu.port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + data)
        while True:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
    return received


def dechunk(raw: bytes) -> tuple[bytes, bool]:
    """(body, complete): decode a chunked HTTP response; complete = terminating chunk seen."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    body = b""
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            return body, False
        size = int(size_line, 16)
        if size == 0:
            return body, True
        body += rest[:size]
        rest = rest[size + 2 :]
    return body, False


_EVENT_SPLIT = re.compile(r"\r\n\r\n|\n\n|\r\r")
_LINE_SPLIT = re.compile(r"\r\n|\n|\r")


def sse_data(body: bytes) -> list[str]:
    """The data payloads of an SSE body (multi-line data joined with \\n), comments skipped."""
    text = body.decode("utf-8")
    events = []
    for block in _EVENT_SPLIT.split(text):
        lines = [
            line[5:].removeprefix(" ")
            for line in _LINE_SPLIT.split(block)
            if line.startswith("data:")
        ]
        if lines:
            events.append("\n".join(lines))
    return events


def stream_chunks(
    emu: Emulator, scenario: str | None = None, **body: Any
) -> tuple[list[Any], bool]:
    """(decoded JSON events, saw [DONE]) of a streamed chat completion."""
    body.setdefault("model_id", LLAMA)
    body["stream"] = True
    resp = call(emu, "/chat/completions", body, scenario=scenario)
    assert resp.status == 200, resp.body
    data = sse_data(resp.body)
    done = bool(data) and data[-1] == "[DONE]"
    return [json.loads(d) for d in data if d != "[DONE]"], done


def streamed_text(chunks: list[Any], field: str = "content") -> str:
    out: list[str] = []
    for chunk in chunks:
        for choice in chunk["choices"]:
            value = choice["delta"].get(field)
            if isinstance(value, list):
                out.extend(part["text"] for part in value)
            elif value:
                out.append(value)
    return "".join(out)
