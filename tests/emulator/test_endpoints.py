"""Endpoints, auth, validation and the CLI, over real sockets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from modelslab_emulator import Emulator
from tests.support.stdlib_http import KEY, LLAMA, MAGISTRAL, ROOMY, call, chat, thought, user


def test_models_list(emu: Emulator) -> None:
    resp = call(emu, "/v1/models")
    assert resp.status == 200
    body = resp.json()
    assert body["object"] == "list"
    ids = {m["id"] for m in body["data"]}
    assert {MAGISTRAL, LLAMA, "Qwen-Qwen3-Next-80B-A3B-Instruct", "openai-gpt-oss-20b"} <= ids
    assert "deepseek-deepseek-r1-distill-llama-70b" in ids
    assert all(set(m) == {"id", "object", "created", "owned_by"} for m in body["data"])


def test_base_url_shape(emu: Emulator) -> None:
    assert emu.base_url == f"http://127.0.0.1:{emu.port}/api/v7/llm"


@pytest.mark.parametrize(
    ("headers", "body_key"),
    [({"Authorization": f"Bearer {KEY}"}, None), ({"x-api-key": KEY}, None), ({}, KEY)],
)
def test_auth_variants(emu: Emulator, headers: dict[str, str], body_key: str | None) -> None:
    body = {"model_id": LLAMA, "messages": user("hi")}
    if body_key:
        body["key"] = body_key
    resp = call(emu, "/chat/completions", body, key=None, headers=headers)
    assert resp.status == 200, resp.body


def test_missing_key_is_401(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", {"model_id": LLAMA, "messages": user("hi")}, key=None)
    assert resp.status == 401
    assert resp.json()["status"] == "error"


def test_restricted_keys() -> None:
    with Emulator(api_keys=["good-key"]) as emu:
        body = {"model_id": LLAMA, "messages": user("hi")}
        assert call(emu, "/chat/completions", body, key="good-key").status == 200
        bad = call(emu, "/chat/completions", body, key="bad-key")
        assert bad.status == 401
        assert bad.json() == {"status": "error", "message": "Invalid API key"}
        assert b"bad-key" not in bad.body
        assert call(emu, "/v1/models", key="bad-key").status == 401


def test_unknown_model(emu: Emulator) -> None:
    resp = chat(emu, model_id="no-such-model", messages=user("hi"))
    assert resp.status == 404
    assert resp.json() == {"status": "error", "message": "Model not found: no-such-model"}


def test_model_alias(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", {"model": LLAMA, "messages": user("hi")})
    assert resp.status == 200
    assert resp.json()["model"] == LLAMA


def test_unknown_path_and_method(emu: Emulator) -> None:
    assert call(emu, "/nope", {"a": 1}).status == 404
    assert call(emu, "/chat/completions", method="GET").status == 405


@pytest.mark.parametrize(
    "extra",
    [
        {"temperature": 2.5},
        {"temperature": -0.1},
        {"n": 0},
        {"n": 11},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"max_tokens": 0},
        {"messages": []},
        {"messages": None},
        {"messages": [{"role": "wizard", "content": "x"}]},
        {"tool_choice": {"type": "function", "function": {"name": "missing"}}},
        {"response_format": {"type": "yaml"}},
    ],
)
def test_invalid_params_are_400(emu: Emulator, extra: dict[str, object]) -> None:
    body = {"model_id": LLAMA, "messages": user("hi"), **extra}
    if body["messages"] is None:
        del body["messages"]
    resp = call(emu, "/chat/completions", body)
    assert resp.status == 400, resp.body
    assert resp.json()["status"] == "error"
    assert resp.json()["message"]


def test_malformed_json_is_400(emu: Emulator) -> None:
    resp = call(emu, "/chat/completions", raw=b"{not json")
    assert resp.status == 400
    assert "Malformed JSON" in resp.json()["message"]


def test_context_length(emu: Emulator) -> None:
    long_text = "word " * 41_000
    resp = chat(emu, model_id=MAGISTRAL, messages=user(long_text))
    assert resp.status == 400
    assert "maximum context length" in resp.json()["message"]
    assert chat(emu, model_id=LLAMA, messages=user(long_text)).status == 200


def test_count_tokens(emu: Emulator) -> None:
    body = {
        "model": MAGISTRAL,
        "system": "Be brief please",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "one two three"}]}],
    }
    resp = call(emu, "/v1/messages/count_tokens", body)
    assert resp.status == 200
    assert resp.json() == {"input_tokens": 6}


def test_anthropic_messages(emu: Emulator) -> None:
    body = {"model": LLAMA, "max_tokens": 100, "messages": user("Hello there")}
    resp = call(emu, "/v1/messages", body, key=None, headers={"x-api-key": KEY})
    assert resp.status == 200
    msg = resp.json()
    assert msg["type"] == "message"
    assert msg["role"] == "assistant"
    assert msg["content"] == [{"type": "text", "text": "You said: Hello there"}]
    assert msg["stop_reason"] == "end_turn"
    assert msg["usage"] == {"input_tokens": 2, "output_tokens": 4}


def test_anthropic_thinking_and_tools(emu: Emulator) -> None:
    tools = [
        {
            "name": "get_weather",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    first: dict[str, Any] = {"model": MAGISTRAL, "max_tokens": ROOMY, "tools": tools}
    first["messages"] = user("Use get_weather for 'Oslo'")
    msg = call(emu, "/v1/messages", first).json()
    assert msg["stop_reason"] == "tool_use"
    (use,) = msg["content"]
    assert use["type"] == "tool_use"
    assert use["name"] == "get_weather"
    assert use["input"] == {"city": "Oslo"}
    result = {"type": "tool_result", "tool_use_id": use["id"], "content": "rainy"}
    second = {
        **first,
        "messages": [
            *first["messages"],
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]},
        ],
    }
    msg = call(emu, "/v1/messages", second).json()
    kinds = [block["type"] for block in msg["content"]]
    assert kinds == ["thinking", "text"]
    assert msg["content"][1]["text"] == 'Based on the tool results: get_weather returned "rainy".'


def test_anthropic_stream_events(emu: Emulator) -> None:
    from tests.support.stdlib_http import sse_data

    body = {"model": MAGISTRAL, "max_tokens": ROOMY, "stream": True, "messages": user("Hi")}
    resp = call(emu, "/v1/messages", body)
    assert resp.headers["content-type"].startswith("text/event-stream")
    import json

    events = [json.loads(d) for d in sse_data(resp.body)]
    types = [e["type"] for e in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    deltas = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta"]
    assert "text_delta" in deltas
    # The 1,209-token thought streams in a few large pieces, not one event per token.
    thinking = [
        e["delta"]["thinking"] for e in events if e.get("delta", {}).get("type") == "thinking_delta"
    ]
    assert "".join(thinking) == thought(1)
    assert len(thinking) < 20
    text = "".join(
        e["delta"]["text"] for e in events if e.get("delta", {}).get("type") == "text_delta"
    )
    assert text == "You said: Hi"
    assert b"event: message_start" in resp.body


def test_anthropic_stream_tool_json(emu: Emulator) -> None:
    import json

    from tests.support.stdlib_http import sse_data

    tools = [
        {
            "name": "add",
            "input_schema": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        }
    ]
    body = {"model": LLAMA, "max_tokens": 50, "stream": True, "tools": tools}
    body["messages"] = user("add 40 and 2")
    events = [json.loads(d) for d in sse_data(call(emu, "/v1/messages", body).body)]
    partial = "".join(
        e["delta"]["partial_json"]
        for e in events
        if e.get("delta", {}).get("type") == "input_json_delta"
    )
    assert json.loads(partial) == {"a": 40, "b": 2}


def test_cli_prints_base_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelslab_emulator", "--port", "0", "--api-key", "k1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:")
        assert line.endswith("/api/v7/llm")
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_non_loopback_host_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")
