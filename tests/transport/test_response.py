"""Non-streaming bodies, and the promise that streamed and plain answers decode alike."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelslab_transport._decoding import StreamDecoder, parse_completion, parse_usage
from modelslab_transport._errors import (
    AuthenticationError,
    ModelsLabError,
    ServerError,
    UnexpectedResponseError,
)
from modelslab_transport._events import StreamEvent, ToolCall, Usage, accumulate
from modelslab_transport._tool_calls import generated_tool_call_id

KEY = "sk-response-secret-1"


def body(message: dict[str, Any], finish: str | None = "stop", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": "gen-abc123",
        "object": "chat.completion",
        "created": 1771658583,
        "model": "mistralai-Magistral-Small-2506",
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
        "usage": {"prompt_tokens": 25, "completion_tokens": 8, "total_tokens": 33},
    }
    result.update(extra)
    return result


def test_documented_example_with_inline_think() -> None:
    raw = body({"role": "assistant", "content": "<think>\n…\n</think>\nParis."})
    completion = parse_completion(raw)
    assert completion.id == "gen-abc123"
    assert completion.model == "mistralai-Magistral-Small-2506"
    assert completion.created == 1771658583
    assert completion.first.content == "Paris."
    assert completion.first.reasoning == "…"
    assert completion.first.finish_reason == "stop"
    assert completion.usage == Usage(25, 8, 33)
    assert completion.raw is raw


def test_content_as_blocks_and_reasoning_fields() -> None:
    message = {
        "role": "assistant",
        "reasoning_content": "first. ",
        "reasoning": "first. ",
        "content": [
            {"type": "thinking", "thinking": "second."},
            {"type": "text", "text": "Hello "},
            {"type": "text", "text": "world"},
        ],
    }
    completion = parse_completion(body(message))
    assert completion.first.content == "Hello world"
    assert completion.first.reasoning == "first. second."


def test_null_content_with_tool_calls() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_abc123",
                "type": "function",
                "function": {"name": "f", "arguments": '{"x":1}'},
            },
            {"type": "function", "function": {"name": "g", "arguments": {"y": "é"}}},
            {"type": "function", "function": {"name": "h", "arguments": ""}},
        ],
    }
    completion = parse_completion(body(message, "tool_calls"))
    assert completion.first.content == ""
    assert completion.first.tool_calls == [
        ToolCall("call_abc123", "f", '{"x":1}'),
        ToolCall(generated_tool_call_id(1, "g", "gen-abc123"), "g", '{"y":"é"}'),
        ToolCall(generated_tool_call_id(2, "h", "gen-abc123"), "h", "{}"),
    ]
    assert completion.first.finish_reason == "tool_calls"


def test_usage_details_and_missing_total() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": 4,
            "completion_tokens": 6,
            "completion_tokens_details": {"reasoning_tokens": 2},
            "prompt_tokens_details": {"cached_tokens": 1},
        }
    )
    assert usage == Usage(4, 6, 10, reasoning_tokens=2, cached_tokens=1)
    assert parse_completion(body({"content": "x"}, usage=None)).usage is None


def test_several_choices_and_extra_fields() -> None:
    raw = body({"content": "a"}, provider="X", native_finish_reason="eos")
    raw["choices"].append({"index": 1, "finish_reason": "length", "message": {"content": "b"}})
    completion = parse_completion(raw)
    assert [(c.index, c.content, c.finish_reason) for c in completion.choices] == [
        (0, "a", "stop"),
        (1, "b", "length"),
    ]


@pytest.mark.parametrize(
    ("raw", "cls"),
    [
        ({"status": "error", "message": "Provider returned error"}, ServerError),
        ({"error": {"message": "Invalid API key", "code": "401"}}, AuthenticationError),
        ({"status": "processing", "eta": 5, "id": 1}, UnexpectedResponseError),
        ({"id": "x", "object": "chat.completion"}, UnexpectedResponseError),
        ([1, 2], UnexpectedResponseError),
        ("text", UnexpectedResponseError),
    ],
)
def test_error_and_unexpected_bodies(raw: object, cls: type[ModelsLabError]) -> None:
    with pytest.raises(cls):
        parse_completion(raw, secret=KEY)


def test_error_message_is_scrubbed() -> None:
    with pytest.raises(AuthenticationError) as info:
        parse_completion({"error": {"message": f"bad key {KEY}", "code": 401}}, secret=KEY)
    assert KEY not in str(info.value)


# -- a streamed answer and a plain answer give the same completion --------------------------


def stream_of(raw: dict[str, Any], cuts: list[int], model: str | None = None) -> list[StreamEvent]:
    """Stream `raw` as chunks: content cut at `cuts`, tool-call arguments in two pieces."""
    message = raw["choices"][0]["message"]
    content = message.get("content") or ""
    points = sorted({c % (len(content) + 1) for c in cuts})
    pieces = [content[a:b] for a, b in zip([0, *points], [*points, len(content)], strict=True)]
    base = {k: raw[k] for k in ("id", "created", "model")}
    chunks: list[dict[str, Any]] = []
    if message.get("reasoning_content"):
        chunks.append({"index": 0, "delta": {"reasoning_content": message["reasoning_content"]}})
    chunks += [{"index": 0, "delta": {"content": piece}} for piece in pieces]
    for position, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        first = {
            "index": position,
            "id": call.get("id"),
            "function": {"name": call["function"]["name"]},
        }
        if first["id"] is None:
            del first["id"]
        chunks.append({"index": 0, "delta": {"tool_calls": [first]}})
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            fragment = {"index": position, "function": {"arguments": part}}
            chunks.append({"index": 0, "delta": {"tool_calls": [fragment]}})
    chunks.append({"index": 0, "delta": {}, "finish_reason": raw["choices"][0]["finish_reason"]})
    decoder = StreamDecoder(model=model)
    events: list[StreamEvent] = []
    for choice in chunks:
        events += decoder.feed(json.dumps({**base, "choices": [choice]}))
    events += decoder.feed(json.dumps({**base, "choices": [], "usage": raw["usage"]}))
    events += decoder.feed("[DONE]")
    return events + decoder.close()


TEMPLATE_OPENED = "deepseek-deepseek-r1-distill-llama-70b"

_piece = st.sampled_from(["<think>", "</think>", "[THINK]", "[/THINK]", "<", " ", "\n", "a", "b"])
_calls = st.lists(
    st.tuples(st.sampled_from(["f", "g"]), st.booleans(), st.sampled_from(['{"a":1}', "{}", ""])),
    max_size=3,
)


@settings(deadline=None, max_examples=200)
@given(
    content=st.lists(_piece, max_size=15).map("".join),
    reasoning=st.sampled_from(["", "Thinking about it."]),
    calls=_calls,
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_streamed_and_plain_answers_are_equal(
    content: str, reasoning: str, calls: list[tuple[str, bool, str]], cuts: list[int]
) -> None:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [
            {
                "function": {"name": name, "arguments": args},
                **({"id": f"call_{n}"} if has_id else {}),
            }
            for n, (name, has_id, args) in enumerate(calls)
        ]
    raw = body(message, "tool_calls" if calls else "stop")
    plain = parse_completion(raw)
    # A whole answer with only `</think>` is read as template-opened for any model; a stream
    # knows it from the catalogue, so stream it as such a model's answer.
    close_only = not reasoning and "</think>" in content and "<think>" not in content
    streamed = accumulate(stream_of(raw, cuts, TEMPLATE_OPENED if close_only else None))
    assert streamed.first.content == plain.first.content
    assert streamed.first.reasoning == plain.first.reasoning
    assert streamed.first.tool_calls == plain.first.tool_calls
    assert streamed.first.finish_reason == plain.first.finish_reason
    assert streamed.first.reasoning_state == plain.first.reasoning_state
    assert streamed.usage == plain.usage
    assert (streamed.id, streamed.model, streamed.created) == (plain.id, plain.model, plain.created)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(deadline=None, max_examples=200)
@given(
    raw=st.fixed_dictionaries(
        {
            "choices": st.lists(
                st.fixed_dictionaries({}, optional={"message": _json, "index": _json}) | _json
            )
        },
        optional={"usage": _json, "id": _json, "error": _json, "status": _json},
    )
    | _json
)
def test_arbitrary_bodies_raise_only_typed_errors(raw: object) -> None:
    with contextlib.suppress(ModelsLabError):
        parse_completion(raw, secret=KEY)
