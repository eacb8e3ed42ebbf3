"""Recorded wire exchanges (tests/fixtures/wire/*.json) replayed through the transport clients.

Each fixture's response is served as-is by a stdlib HTTP server on loopback; the client sends
the fixture's request body and must make of the answer what its `expect` says. This file
checks answer fixtures (`content`, `reasoning`, `reasoning_state`, `finish_reason`); fixtures
that expect something else (errors, say) are left to the tests that know those kinds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from modelslab_transport import AsyncModelsLabClient, ModelsLabClient, accumulate
from modelslab_transport._events import Choice

WIRE = Path(__file__).parent.parent / "fixtures" / "wire"
ANSWER_KEYS = frozenset({"content", "reasoning", "reasoning_state", "finish_reason"})
KEY = "sk-wire-fixture-0000"


def _answer_fixtures() -> list[Any]:
    found = []
    for path in sorted(WIRE.glob("*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        expect = fixture.get("expect")
        if isinstance(expect, dict) and expect and set(expect) <= ANSWER_KEYS:
            found.append(pytest.param(fixture, id=path.stem))
    return found


FIXTURES = _answer_fixtures()


class _Replay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        response = self.server.fixture["response"]  # type: ignore[attr-defined]
        body = response["body"].encode("utf-8")
        self.send_response(response["status"])
        for name, value in response.get("headers", {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def replay() -> Iterator[Any]:
    """Serve one fixture's response: call with the fixture, get the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def serve(fixture: dict[str, Any]) -> str:
        server.fixture = fixture  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{server.server_address[1]}/api/v7/llm"

    yield serve
    server.shutdown()
    server.server_close()


def _check(choice: Choice, expect: dict[str, Any]) -> None:
    got = {key: getattr(choice, key) for key in expect}
    assert got == expect


def test_there_are_answer_fixtures() -> None:
    assert len(FIXTURES) >= 8


@pytest.mark.parametrize("fixture", FIXTURES)
def test_replay_sync(fixture: dict[str, Any], replay: Any) -> None:
    body = fixture["request"]["body"]
    with ModelsLabClient(api_key=KEY, base_url=replay(fixture), max_retries=0) as client:
        streamed = body.get("stream")
        result = accumulate(client.stream_chat(body)) if streamed else client.chat(body)
    _check(result.first, fixture["expect"])


@pytest.mark.parametrize("fixture", FIXTURES)
async def test_replay_async(fixture: dict[str, Any], replay: Any) -> None:
    body = fixture["request"]["body"]
    async with AsyncModelsLabClient(api_key=KEY, base_url=replay(fixture), max_retries=0) as client:
        if body.get("stream"):
            result = accumulate([event async for event in client.stream_chat(body)])
        else:
            result = await client.chat(body)
    _check(result.first, fixture["expect"])
