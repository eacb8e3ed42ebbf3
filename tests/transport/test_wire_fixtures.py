"""Replay every wire fixture (tests/fixtures/wire/**/*.json) through the transport clients.

Each fixture is one exchange: the request the client would make and the response a server sent
(see the samples in the shared API notes, or recordings). A stdlib HTTP server on a loopback
port answers with the fixture's response, byte for byte; the sync and the async client call the
endpoint the fixture names (streamed when the response is an event stream) and the result is
checked against the fixture's `expect`. A fixture without `expect` must decode, or raise a
`ModelsLabError` (which it must for a status >= 400): never anything untyped.

`expect` keys: on success `content`, `reasoning`, `finish_reason`, `tool_calls` (a list of
`{id?, name?, arguments?}`, arguments as JSON), `usage` (a subset of the usage numbers),
`input_tokens` (count_tokens), `model_ids` (/v1/models), and any other attribute of the first
choice or the completion (e.g. `reasoning_state`); on failure `error` (a class name in
`modelslab_transport`), `message_contains`, `status_code`, `retry_after` (seconds, within 1.5),
`partial_text`, `partial_reasoning`, `format_refusal` (the error is a provider's refusal of the
requested response format: `is_format_refusal`), `message` (the error's message, exactly).
Fixtures of endpoints the transport has no call for (`/v1/messages`) are not collected here.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import modelslab_transport as mt
from modelslab_transport import (
    AsyncModelsLabClient,
    ChatCompletion,
    ModelsLabClient,
    ModelsLabError,
    accumulate,
)
from tests.support.loopback_server import QuietHandler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
_CALLED = ("/chat/completions", "/count_tokens", "/v1/models")


def _replayable(path: Path) -> bool:
    request = json.loads(path.read_text(encoding="utf-8")).get("request") or {}
    return str(request.get("path") or "/chat/completions").split("?", 1)[0].endswith(_CALLED)


PATHS = [path for path in sorted(FIXTURES.rglob("*.json")) if _replayable(path)]
KEY = "sk-wire-replay-5d3a90"
PREFIX = "/api/v7/llm"
# Framing is the replay server's own; a recorded body is stored decoded, so no content-encoding.
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "content-encoding"})
_ERROR_KEYS = frozenset(
    {
        "error",
        "message_contains",
        "status_code",
        "retry_after",
        "partial_text",
        "partial_reasoning",
        "format_refusal",
        "message",
    }
)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Replay:
    """A loopback server that answers every request with one fixture's response."""

    response: dict[str, Any]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        replay = self

        class Handler(QuietHandler):
            def serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                replay.seen.append(Seen(self.command, self.path, headers, body))
                raw = replay.response.get("body") or ""
                payload = raw.encode("utf-8") if isinstance(raw, str) else json.dumps(raw).encode()
                self.send_response(int(replay.response.get("status", 200)))
                for name, value in (replay.response.get("headers") or {}).items():
                    if name.lower() not in _HOP_HEADERS:
                        self.send_header(name, str(value))
                # The body ends where the fixture's does (a cut stream stays cut), then closes.
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PREFIX}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def load(path: Path) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(fixture.get("response"), dict), f"{path.name}: no response"
    return fixture


def endpoint(fixture: dict[str, Any]) -> str:
    path = str((fixture.get("request") or {}).get("path") or "/chat/completions")
    path = path.split("?", 1)[0]
    return path[path.index(PREFIX) + len(PREFIX) :] if PREFIX in path else path


def is_stream(fixture: dict[str, Any]) -> bool:
    headers = {k.lower(): str(v) for k, v in (fixture["response"].get("headers") or {}).items()}
    body = (fixture.get("request") or {}).get("body")
    asked = isinstance(body, dict) and bool(body.get("stream") or body.get("streaming"))
    return "text/event-stream" in headers.get("content-type", "") or asked


def chat_payload(fixture: dict[str, Any]) -> dict[str, Any]:
    body = (fixture.get("request") or {}).get("body")
    if not isinstance(body, dict) or not body.get("messages"):
        return mt.build_chat_payload(mt.DEFAULT_MODEL, [{"role": "user", "content": "Hi"}])
    payload = {k: v for k, v in body.items() if k not in ("key", "stream", "streaming")}
    payload.setdefault("model_id", payload.get("model") or mt.DEFAULT_MODEL)
    return payload


def call(fixture: dict[str, Any], base_url: str, mode: str) -> Any:
    """Run the fixture's exchange with the sync or async client; the decoded result."""
    path = endpoint(fixture)
    body = (fixture.get("request") or {}).get("body")
    body = body if isinstance(body, dict) else {}
    options: dict[str, Any] = {
        "api_key": KEY,
        "base_url": base_url,
        "max_retries": 0,
        "queue_wait_budget": 0,
    }

    async def run_async() -> Any:
        async with AsyncModelsLabClient(**options) as client:
            if path.endswith("/chat/completions"):
                if is_stream(fixture):
                    return accumulate([e async for e in client.stream_chat(chat_payload(fixture))])
                return await client.chat(chat_payload(fixture))
            if path.endswith("/count_tokens"):
                return {"input_tokens": await client.count_tokens(*tokens_args(body))}
            return {"model_ids": [m.get("id") for m in await client.list_models()]}

    if mode == "async":
        return asyncio.run(run_async())
    with ModelsLabClient(**options) as client:
        if path.endswith("/chat/completions"):
            if is_stream(fixture):
                return accumulate(client.stream_chat(chat_payload(fixture)))
            return client.chat(chat_payload(fixture))
        if path.endswith("/count_tokens"):
            return {"input_tokens": client.count_tokens(*tokens_args(body))}
        return {"model_ids": [m.get("id") for m in client.list_models()]}


def outcome(fixture: dict[str, Any], base_url: str, mode: str) -> tuple[Any, ModelsLabError | None]:
    """The decoded result, or the typed error (anything else propagates and fails the test)."""
    try:
        return call(fixture, base_url, mode), None
    except ModelsLabError as error:
        return None, error


def tokens_args(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
    model = str(body.get("model") or body.get("model_id") or mt.DEFAULT_MODEL)
    messages = body.get("messages") or [{"role": "user", "content": "Hi"}]
    system = body.get("system")
    return model, messages, system if isinstance(system, str) else None


def check_error(expect: dict[str, Any], error: ModelsLabError) -> None:
    assert KEY not in str(error) and KEY not in repr(vars(error))
    name = expect.get("error")
    if name is not None:
        cls = getattr(mt, name, None)
        assert isinstance(cls, type), f"expect.error names no modelslab_transport class: {name}"
        assert isinstance(error, cls), f"{type(error).__name__} is not a {name}: {error}"
    if "message_contains" in expect:
        assert expect["message_contains"] in error.message
    if "message" in expect:
        assert error.message == expect["message"]
    if "format_refusal" in expect:
        assert mt.is_format_refusal(error) is expect["format_refusal"]
    if "status_code" in expect:
        assert error.status_code == expect["status_code"]
    if "retry_after" in expect:
        retry_after = getattr(error, "retry_after", None)
        assert retry_after is not None, "no retry_after on the error"
        assert abs(retry_after - expect["retry_after"]) <= 1.5
    for key in ("partial_text", "partial_reasoning"):
        if key in expect:
            assert getattr(error, key) == expect[key]


def actual(result: Any, key: str) -> Any:
    """The value of an `expect` key in a decoded result."""
    if isinstance(result, dict):
        assert key in result, f"expect key {key!r} does not apply to this endpoint"
        return result[key]
    assert isinstance(result, ChatCompletion)
    choice = result.first
    if key == "tool_calls":
        return [
            {"id": c.id, "name": c.name, "arguments": json.loads(c.arguments)}
            for c in choice.tool_calls
        ]
    if key == "usage":
        usage = result.usage
        assert usage is not None, "no usage decoded"
        return usage
    for owner in (choice, result):
        if hasattr(owner, key):
            return getattr(owner, key)
    pytest.fail(f"expect key {key!r} is not an attribute of the decoded answer")


def check_result(expect: dict[str, Any], result: Any) -> None:
    for key, want in expect.items():
        got = actual(result, key)
        if key == "tool_calls":
            assert len(got) == len(want)
            for call_got, call_want in zip(got, want, strict=True):
                assert {k: call_got[k] for k in call_want} == call_want
        elif key == "usage":
            assert {k: getattr(got, k) for k in want} == want
        else:
            assert got == want, f"{key}: {got!r} != {want!r}"


@pytest.fixture(params=PATHS, ids=[str(p.relative_to(FIXTURES)) for p in PATHS])
def fixture(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


@pytest.fixture
def replay(fixture: dict[str, Any]) -> Iterator[Replay]:
    server = Replay(fixture["response"])
    yield server
    server.close()


def test_fixtures_exist() -> None:
    assert len(PATHS) >= 40
    names = [load(path)["name"] for path in PATHS]
    assert len(names) == len(set(names)), "fixture names must be unique"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_replay(fixture: dict[str, Any], replay: Replay, mode: str) -> None:
    path = endpoint(fixture)
    expect = fixture.get("expect")
    status = int(fixture["response"].get("status", 200))
    result, error = outcome(fixture, replay.base_url, mode)
    if error is not None:
        if expect is not None:
            assert set(expect) & _ERROR_KEYS, f"expected an answer, got {error!r}"
            check_error(expect, error)
    else:
        assert status < 400, f"HTTP {status} decoded as an answer"
        if expect is not None:
            assert not set(expect) & _ERROR_KEYS, f"expected an error, got {result!r}"
            check_result(expect, result)
    (seen,) = replay.seen  # one exchange: no retries here
    assert seen.path == PREFIX + path
    assert seen.headers.get("authorization") == f"Bearer {KEY}"
    if path.startswith("/v1/"):
        assert seen.headers.get("x-api-key") == KEY
