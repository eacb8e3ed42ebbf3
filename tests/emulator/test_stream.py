"""The normal streaming format of /chat/completions."""

from __future__ import annotations

import json

from modelslab_emulator import Emulator
from tests.support.stdlib_http import (
    LLAMA,
    MAGISTRAL,
    ROOMY,
    THOUGHT_TOKENS,
    call,
    stream_chunks,
    streamed_text,
    user,
)
from tests.support.tool_specs import STRING, function_tool

TOOLS = [function_tool(name, city=STRING) for name in ("get_weather", "get_news")]


def test_stream_format(emu: Emulator) -> None:
    resp = call(
        emu,
        "/chat/completions",
        {"model_id": LLAMA, "messages": user("one two"), "stream": True},
    )
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.body.startswith(b": OPENROUTER PROCESSING\n\n")
    assert resp.body.endswith(b"data: [DONE]\n\n")
    chunks, done = stream_chunks(emu, messages=user("one two"))
    assert done
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[:-1]]
    assert pieces == ["You ", "said: ", "one ", "two"]
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert all("usage" not in c for c in chunks)


def test_streaming_alias_and_usage_chunk(emu: Emulator) -> None:
    resp = call(
        emu,
        "/chat/completions",
        {
            "model_id": MAGISTRAL,
            "messages": user("hi"),
            "streaming": True,
            "stream_options": {"include_usage": True},
            "max_tokens": ROOMY,
        },
    )
    from tests.support.stdlib_http import sse_data

    data = sse_data(resp.body)
    assert data[-1] == "[DONE]"
    usage_chunk = json.loads(data[-2])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == THOUGHT_TOKENS + 3
    assert usage_chunk["usage"]["completion_tokens_details"] == {"reasoning_tokens": THOUGHT_TOKENS}
    # The long thought costs a few large chunks, not one per token.
    assert len(data) < 40
    finish = json.loads(data[-3])
    assert finish["choices"][0]["finish_reason"] == "stop"


def test_stream_text_matches_non_stream(emu: Emulator) -> None:
    chunks, _ = stream_chunks(emu, model_id=MAGISTRAL, messages=user("a b c"), max_tokens=11)
    full = call(
        emu,
        "/chat/completions",
        {"model_id": MAGISTRAL, "messages": user("a b c"), "max_tokens": 11},
    ).json()
    assert streamed_text(chunks) == full["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_stream_n_choices(emu: Emulator) -> None:
    chunks, _ = stream_chunks(emu, messages=user("x"), n=2)
    indexes = {c["choices"][0]["index"] for c in chunks}
    assert indexes == {0, 1}
    finishes = [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]
    ]
    assert finishes == ["stop", "stop"]


def test_stream_tool_fragments(emu: Emulator) -> None:
    chunks, done = stream_chunks(
        emu, messages=user("get_weather and get_news for 'Rome'"), tools=TOOLS
    )
    assert done
    fragments = [f for c in chunks[:-1] for f in c["choices"][0]["delta"]["tool_calls"]]
    heads = [f for f in fragments if "id" in f]
    assert [h["index"] for h in heads] == [0, 1]
    assert all(h["function"]["arguments"] == "" and h["type"] == "function" for h in heads)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    rest = [f for f in fragments if "id" not in f]
    assert all(
        set(f) == {"index", "function"} and set(f["function"]) == {"arguments"} for f in rest
    )
    assert all(len(f["function"]["arguments"]) <= 8 for f in rest)
    for index in (0, 1):
        text = "".join(f["function"]["arguments"] for f in fragments if f["index"] == index)
        assert json.loads(text) == {"city": "Rome"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
