"""Every X-Emulator-Scenario, as seen on the wire."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from modelslab_emulator import Emulator
from tests.support.scenarios import unique
from tests.support.stdlib_http import (
    KEY,
    LLAMA,
    MAGISTRAL,
    ROOMY,
    call,
    chat,
    dechunk,
    raw_exchange,
    sse_data,
    stream_chunks,
    streamed_text,
    thought,
    user,
)
from tests.support.tool_specs import STRING, function_tool

TOOLS = [function_tool(name, city=STRING) for name in ("get_weather", "get_news")]
STREAM = {"model_id": LLAMA, "messages": user("one two three four five"), "stream": True}


def test_content_blocks(emu: Emulator) -> None:
    data = chat(emu, "content-blocks", messages=user("hi")).json()
    assert data["choices"][0]["message"]["content"] == [{"type": "text", "text": "You said: hi"}]
    chunks, _ = stream_chunks(emu, "content-blocks", messages=user("hi"))
    assert isinstance(chunks[0]["choices"][0]["delta"]["content"], list)
    assert streamed_text(chunks) == "You said: hi"


def test_reasoning_field_stream(emu: Emulator) -> None:
    body: dict[str, Any] = {"model_id": MAGISTRAL, "messages": user("hi"), "max_tokens": ROOMY}
    chunks, _ = stream_chunks(emu, "reasoning-field", **body)
    assert streamed_text(chunks, "reasoning_content") == thought(1)
    assert streamed_text(chunks) == "You said: hi"
    chunks, _ = stream_chunks(emu, "reasoning-openrouter", **body)
    assert streamed_text(chunks, "reasoning").startswith("The user wrote")


def test_think_split(emu: Emulator) -> None:
    chunks, _ = stream_chunks(
        emu, "think-split", model_id=MAGISTRAL, messages=user("hi"), max_tokens=ROOMY
    )
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[:-1]]
    assert "<think>" not in pieces
    assert pieces[:3] == ["<", "th", "in"]
    assert any(p and p.endswith("\n<") for p in pieces)
    expected = f"<think>\n{thought(1)}\n</think>\nYou said: hi"
    assert "".join(pieces) == expected


def test_multi_tool_chunk(emu: Emulator) -> None:
    chunks, _ = stream_chunks(
        emu, "multi-tool-chunk", messages=user("get_weather get_news"), tools=TOOLS
    )
    assert len(chunks) == 2
    calls = chunks[0]["choices"][0]["delta"]["tool_calls"]
    assert [c["index"] for c in calls] == [0, 1]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "example"}] * 2


def test_repeat_tool_id(emu: Emulator) -> None:
    chunks, _ = stream_chunks(emu, "repeat-tool-id", messages=user("get_weather"), tools=TOOLS)
    fragments = [f for c in chunks[:-1] for f in c["choices"][0]["delta"]["tool_calls"]]
    assert len(fragments) > 2
    assert len({f["id"] for f in fragments}) == 1
    assert all(f["function"]["name"] == "get_weather" for f in fragments)


def test_no_tool_index(emu: Emulator) -> None:
    chunks, _ = stream_chunks(emu, "no-tool-index", messages=user("get_weather"), tools=TOOLS)
    fragments = [f for c in chunks[:-1] for f in c["choices"][0]["delta"]["tool_calls"]]
    assert fragments
    assert all("index" not in f for f in fragments)


def test_no_usage(emu: Emulator) -> None:
    assert "usage" not in chat(emu, "no-usage", messages=user("hi")).json()
    chunks, done = stream_chunks(
        emu, "no-usage", messages=user("hi"), stream_options={"include_usage": True}
    )
    assert done
    assert all("usage" not in c for c in chunks)


def test_usage_on_last_chunk(emu: Emulator) -> None:
    chunks, _ = stream_chunks(
        emu, "usage-on-last-chunk", messages=user("hi"), stream_options={"include_usage": True}
    )
    assert all(c["choices"] for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] == 4


def test_error_shapes(emu: Emulator) -> None:
    openai = chat(emu, "openai-error", model_id="nope", messages=user("x"))
    assert openai.status == 404
    error = openai.json()["error"]
    assert error["message"] == "Model not found: nope"
    assert set(error) == {"message", "type", "code"}
    legacy = chat(emu, "legacy-messege", model_id="nope", messages=user("x"))
    assert legacy.json() == {"status": "error", "messege": "Model not found: nope"}


def test_error_200(emu: Emulator) -> None:
    resp = chat(emu, "error-200", messages=user("x"))
    assert resp.status == 200
    assert resp.json() == {"status": "error", "message": "Provider returned error"}
    resp = call(emu, "/chat/completions", STREAM, scenario="error-200")
    assert resp.status == 200
    data = sse_data(resp.body)
    assert json.loads(data[0]) == {"status": "error", "message": "Provider returned error"}


def test_error_mid_stream(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", STREAM, scenario="error-mid-stream")
    data = sse_data(resp.body)
    events = [json.loads(d) for d in data if d != "[DONE]"]
    assert all("choices" in e for e in events[:3])
    assert events[3] == {"status": "error", "message": "Provider returned error"}
    assert len(events) == 4


def test_rate_limit_then_success(emu: Emulator) -> None:
    scenario = unique("rate-limit;times=2;retry_after=0.05")
    for _ in range(2):
        resp = chat(emu, scenario, messages=user("hi"))
        assert resp.status == 429
        assert resp.headers["retry-after"] == "0.05"
        body = resp.json()
        assert body["retry_after"] == 0.05
        assert body["message"] == "Rate limit exceeded. Maximum 5 queued requests allowed."
    assert chat(emu, scenario, messages=user("hi")).status == 200


def test_rate_limit_body_only_and_forever(emu: Emulator) -> None:
    scenario = unique("rate-limit;times=-1;retry_after=30;header=0")
    for _ in range(3):
        resp = chat(emu, scenario, messages=user("hi"))
        assert resp.status == 429
        assert "retry-after" not in resp.headers
        assert resp.json()["retry_after"] == 30


def test_rate_limit_extra_headers(emu: Emulator) -> None:
    scenario = unique("rate-limit;retry_after=2;retry_after_ms=1500;reset=1;date=1")
    resp = chat(emu, scenario, messages=user("hi"))
    assert resp.headers["retry-after"].endswith("GMT")
    assert resp.headers["retry-after-ms"] == "1500"
    assert int(resp.headers["x-ratelimit-reset"]) >= int(time.time())


def test_counter_reset_by_clear(emu: Emulator) -> None:
    scenario = unique("rate-limit;times=1")
    assert chat(emu, scenario, messages=user("hi")).status == 429
    assert chat(emu, scenario, messages=user("hi")).status == 200
    emu.clear()
    assert chat(emu, scenario, messages=user("hi")).status == 429


def test_sequenced_faults(emu: Emulator) -> None:
    scenario = unique("rate-limit;times=1, server-error;times=1;status=502")
    assert [chat(emu, scenario, messages=user("x")).status for _ in range(3)] == [429, 502, 200]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_then_success(emu: Emulator, status: int) -> None:
    scenario = unique(f"server-error;times=1;status={status};should_retry=true")
    resp = chat(emu, scenario, messages=user("hi"))
    assert resp.status == status
    assert resp.json()["status"] == "error"
    assert resp.headers["x-should-retry"] == "true"
    assert chat(emu, scenario, messages=user("hi")).status == 200


def test_html_502(emu: Emulator) -> None:
    scenario = unique("html-502;times=1")
    resp = chat(emu, scenario, messages=user("hi"))
    assert resp.status == 502
    assert resp.headers["content-type"] == "text/html"
    assert b"<center><h1>502 Bad Gateway</h1></center>" in resp.body
    assert chat(emu, scenario, messages=user("hi")).status == 200


def test_drop_mid_stream(emu: Emulator) -> None:
    raw = raw_exchange(emu, "/chat/completions", STREAM, "drop-mid-stream")
    body, complete = dechunk(raw)
    assert not complete
    data = sse_data(body)
    assert len(data) == 3
    assert b"[DONE]" not in body
    assert b'finish_reason":"stop' not in body


def test_drop_non_stream(emu: Emulator) -> None:
    body = {"model_id": LLAMA, "messages": user("hi")}
    raw = raw_exchange(emu, "/chat/completions", body, "drop-mid-stream")
    head, _, payload = raw.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    assert 0 < len(payload) < length


def test_no_done(emu: Emulator) -> None:
    body, complete = dechunk(raw_exchange(emu, "/chat/completions", STREAM, "no-done"))
    assert complete
    assert b"[DONE]" not in body
    assert json.loads(sse_data(body)[-1])["choices"][0]["finish_reason"] == "stop"


def test_truncated(emu: Emulator) -> None:
    body, complete = dechunk(raw_exchange(emu, "/chat/completions", STREAM, "truncated;after=2"))
    assert complete
    data = sse_data(body)
    assert len(data) == 2
    assert all(json.loads(d)["choices"][0]["finish_reason"] is None for d in data)


def test_slow_first_byte(emu: Emulator) -> None:
    start = time.monotonic()
    resp = chat(emu, "slow-first-byte;delay=0.3", messages=user("hi"))
    assert resp.status == 200
    assert time.monotonic() - start >= 0.3


def test_trickle(emu: Emulator) -> None:
    start = time.monotonic()
    chunks, done = stream_chunks(emu, "trickle;delay=0.03", messages=user("a b c"))
    assert done
    assert time.monotonic() - start >= 0.03 * len(chunks)


def test_redirect(emu: Emulator) -> None:
    resp = chat(emu, "redirect", messages=user("hi"))
    assert resp.status == 302
    location = resp.headers["location"]
    parts = urlsplit(location)
    assert (parts.hostname, parts.port) == ("127.0.0.1", emu.port)
    assert parts.path == "/api/v7/llm/chat/completions"
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    payload = json.dumps({"model_id": LLAMA, "messages": user("hi")})
    conn.request("POST", f"{parts.path}?{parts.query}", payload, {"x-api-key": "k"})
    assert conn.getresponse().status == 200
    conn.close()


@pytest.mark.parametrize(
    ("scenario", "status", "message"),
    [
        ("insufficient-credits", 402, "Insufficient credits. Please add more credits to continue."),
        ("forbidden", 403, None),
    ],
)
def test_account_errors(emu: Emulator, scenario: str, status: int, message: str | None) -> None:
    resp = chat(emu, scenario, messages=user("hi"))
    assert resp.status == status
    assert resp.json()["status"] == "error"
    if message:
        assert resp.json()["message"] == message


def test_processing(emu: Emulator) -> None:
    resp = chat(emu, "processing", messages=user("hi"))
    assert resp.status == 200
    body = resp.json()
    assert body["status"] == "processing"
    assert {"fetch_result", "eta", "id"} <= set(body)


@pytest.mark.parametrize(
    ("scenario", "separator"), [("crlf", b"\r\n\r\n"), ("cr", b"\r\r"), (None, b"\n\n")]
)
def test_line_endings(emu: Emulator, scenario: str | None, separator: bytes) -> None:
    resp = call(emu, "/chat/completions", STREAM, scenario=scenario)
    assert resp.body.count(separator) == len(sse_data(resp.body)) + 1
    if scenario == "cr":
        assert b"\n" not in resp.body
    assert sse_data(resp.body)[-1] == "[DONE]"


def test_no_space(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", STREAM, scenario="no-space")
    assert b"data: " not in resp.body
    assert b"data:{" in resp.body
    assert sse_data(resp.body)[-1] == "[DONE]"


def test_multiline_data(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", STREAM, scenario="multiline-data")
    first_event = resp.body.split(b"\n\n")[1]
    assert first_event.count(b"data: ") > 1
    chunks = [json.loads(d) for d in sse_data(resp.body) if d != "[DONE]"]
    assert streamed_text(chunks) == "You said: one two three four five"


def test_unicode_split_across_writes(emu: Emulator) -> None:
    raw = raw_exchange(emu, "/chat/completions", STREAM, "unicode")
    _, _, rest = raw.partition(b"\r\n\r\n")
    http_chunks = []
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        if int(size, 16) == 0:
            break
        http_chunks.append(rest[: int(size, 16)])
        rest = rest[int(size, 16) + 2 :]
    broken = 0
    for piece in http_chunks:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    assert broken >= 4
    chunks = [json.loads(d) for d in sse_data(b"".join(http_chunks)) if d != "[DONE]"]
    text = streamed_text(chunks)
    assert text.endswith(" h\u00e9llo \u4f60\u597d \U0001f642 \u2028 \u0085 ok")
    full = chat(emu, "unicode", messages=STREAM["messages"]).json()
    assert full["choices"][0]["message"]["content"] == text


def test_extra_fields(emu: Emulator) -> None:
    data = chat(emu, "extra-fields", messages=user("hi")).json()
    assert data["provider"]
    assert data["choices"][0]["native_finish_reason"] == "stop"
    chunks, _ = stream_chunks(emu, "extra-fields", messages=user("hi"))
    assert chunks[-1]["choices"][0]["native_finish_reason"] == "stop"


def test_combined_scenarios(emu: Emulator) -> None:
    chunks, done = stream_chunks(
        emu,
        "reasoning-field, content-blocks, crlf, no-space, usage-on-last-chunk",
        model_id=MAGISTRAL,
        messages=user("hi"),
        max_tokens=ROOMY,
    )
    assert done
    assert streamed_text(chunks) == "You said: hi"
    assert "usage" in chunks[-1]


def test_unknown_scenario_is_400(emu: Emulator) -> None:
    resp = chat(emu, "no-such-thing", messages=user("hi"))
    assert resp.status == 400
    assert "Unknown emulator scenario" in resp.json()["message"]


def test_anthropic_error_mid_stream(emu: Emulator) -> None:
    body = {"model": LLAMA, "max_tokens": 20, "stream": True, "messages": user("a b c d")}
    resp = call(emu, "/v1/messages", body, scenario="error-mid-stream")
    events = [json.loads(d) for d in sse_data(resp.body)]
    assert events[-1]["type"] == "error"
    assert events[0]["type"] == "message_start"


def test_error_mid_stream_openai_shape(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", STREAM, scenario="error-mid-stream;after=1, openai-error")
    events = [json.loads(d) for d in sse_data(resp.body) if d != "[DONE]"]
    assert len(events) == 2
    assert events[1]["error"]["message"] == "Provider returned error"


@pytest.mark.parametrize("status", [408, 409, 422, 504])
def test_http_error(emu: Emulator, status: int) -> None:
    scenario = unique(f"http-error;status={status};times=1")
    resp = chat(emu, scenario, messages=user("hi"))
    assert resp.status == status
    assert resp.json()["status"] == "error"
    assert chat(emu, scenario, messages=user("hi")).status == 200


def test_echo_key(emu: Emulator) -> None:
    resp = chat(emu, "echo-key;status=401", messages=user("hi"))
    assert resp.status == 401
    assert KEY in resp.json()["message"]


def test_chat_id_and_content_filter(emu: Emulator) -> None:
    data = chat(emu, "chat-id, content-filter", messages=user("hi")).json()
    assert data["id"].startswith("chat-")
    assert data["choices"][0]["finish_reason"] == "content_filter"
