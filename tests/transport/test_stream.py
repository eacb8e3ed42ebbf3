"""The stream decoder and accumulator: every streamed variant of the wire protocol."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelslab_transport as mt
from modelslab_transport._decoding import StreamDecoder
from tests.support.wire_bytes import decode_bytes, json_values, split_bytes

KEY = "sk-stream-secret-999"


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    index: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "created": 1771658583,
        "model": "mistralai-Magistral-Small-2506",
        "choices": [{"index": index, "delta": delta or {}, "finish_reason": finish}],
    }
    body.update(extra)
    return body


def run(*payloads: Any, done: bool = True) -> list[mt.StreamEvent]:
    decoder = StreamDecoder(secret=KEY)
    events: list[mt.StreamEvent] = []
    for payload in payloads:
        events.extend(decoder.feed(payload if isinstance(payload, str) else json.dumps(payload)))
    if done:
        events.extend(decoder.feed("[DONE]"))
        assert decoder.done
    events.extend(decoder.close())
    return events


def texts(events: list[mt.StreamEvent], kind: type[mt.TextDelta] | type[mt.ReasoningDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def test_plain_text_stream() -> None:
    events = run(
        chunk({"role": "assistant", "content": "Par"}),
        chunk({"content": "is."}),
        chunk({}, "stop"),
    )
    assert events == [
        mt.StreamStart("gen-1", "mistralai-Magistral-Small-2506", 1771658583),
        mt.TextDelta("Par"),
        mt.TextDelta("is."),
        mt.FinishEvent("stop"),
    ]


def test_inline_think_tags_split_across_chunks() -> None:
    pieces = ["<th", "ink>\nHmm, ", "France.\n</thi", "nk>\n\nPar", "is."]
    events = run(*(chunk({"content": p}) for p in pieces), chunk({}, "stop"))
    assert texts(events, mt.TextDelta) == "Paris."
    assert texts(events, mt.ReasoningDelta) == "Hmm, France."
    assert not any(isinstance(e, mt.TextDelta) and "think" in e.text for e in events)


def test_reasoning_fields_and_blocks() -> None:
    events = run(
        chunk({"reasoning_content": "a"}),
        chunk({"reasoning": "b"}),
        chunk({"reasoning_content": "c", "reasoning": "c"}),
        chunk({"content": [{"type": "thinking", "thinking": "d"}, {"type": "text", "text": "X"}]}),
        chunk({"content": [{"type": "reasoning", "text": "e"}, {"type": "image_url"}]}),
        chunk({"content": None}, "stop"),
    )
    assert texts(events, mt.ReasoningDelta) == "abcde"
    assert texts(events, mt.TextDelta) == "X"


def test_empty_strings_are_skipped() -> None:
    events = run(chunk({"content": "", "reasoning_content": ""}), chunk({}, "stop"))
    assert events == [
        mt.StreamStart("gen-1", "mistralai-Magistral-Small-2506", 1771658583),
        mt.FinishEvent("stop"),
    ]


def test_tool_calls_stream() -> None:
    events = run(
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x":1}'}}]}),
        chunk({}, "tool_calls"),
    )
    assert [e for e in events if isinstance(e, mt.ToolCallDelta)] == [
        mt.ToolCallDelta(0, "call_1", "f", ""),
        mt.ToolCallDelta(0, None, None, '{"x":1}'),
    ]
    assert mt.accumulate(events).first.tool_calls == [mt.ToolCall("call_1", "f", '{"x":1}')]
    assert isinstance(events[-1], mt.FinishEvent)


def test_usage_only_final_chunk_emitted_once_after_finish() -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "completion_tokens_details": {"reasoning_tokens": 3},
        "prompt_tokens_details": {"cached_tokens": 2},
    }
    events = run(
        chunk({"content": "a"}, usage=None),
        chunk({}, "stop"),
        {"id": "gen-1", "choices": [], "usage": usage},
    )
    assert events[-1] == mt.UsageEvent(mt.Usage(10, 5, 15, reasoning_tokens=3, cached_tokens=2))
    assert sum(isinstance(e, mt.UsageEvent) for e in events) == 1
    assert isinstance(events[-2], mt.FinishEvent)


def test_usage_on_last_content_chunk_and_last_wins() -> None:
    events = run(
        chunk({"content": "a"}, usage={"prompt_tokens": 1, "completion_tokens": 1}),
        chunk({}, "stop", usage={"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}),
    )
    [usage_event] = [e for e in events if isinstance(e, mt.UsageEvent)]
    assert usage_event.usage.total_tokens == 5
    assert usage_event.usage.raw["prompt_tokens"] == 2


def test_no_usage_at_all() -> None:
    assert not any(isinstance(e, mt.UsageEvent) for e in run(chunk({"content": "a"}, "stop")))


def test_several_choices() -> None:
    events = run(
        chunk({"content": "<think>r0</think>A"}, index=0),
        chunk({"content": "B"}, index=1),
        chunk({}, "stop", index=0),
        chunk({}, "length", index=1),
    )
    result = mt.accumulate(events)
    assert [(c.index, c.content, c.reasoning, c.finish_reason) for c in result.choices] == [
        (0, "A", "r0", "stop"),
        (1, "B", "", "length"),
    ]


def test_start_is_emitted_once_and_at_close_if_no_chunk() -> None:
    events = run(chunk({"content": "a"}), chunk({}, "stop"))
    assert sum(isinstance(e, mt.StreamStart) for e in events) == 1
    assert run() == [mt.StreamStart(None, None, None)]


def test_error_event_mid_stream_raises_typed_error() -> None:
    decoder = StreamDecoder(secret=KEY)
    decoder.feed(json.dumps(chunk({"content": "a"})))
    with pytest.raises(mt.ServerError, match="Provider returned error"):
        decoder.feed(json.dumps({"status": "error", "message": "Provider returned error"}))


def test_non_json_data_raises_scrubbed_and_short() -> None:
    decoder = StreamDecoder(secret=KEY)
    with pytest.raises(mt.UnexpectedResponseError, match="non-JSON") as info:
        decoder.feed(f"<html>{KEY}" + "x" * 5000)
    assert KEY not in str(info.value)
    assert len(str(info.value)) < 300
    with pytest.raises(mt.UnexpectedResponseError):
        decoder.feed("[1, 2]")


def test_empty_data_payload_is_ignored() -> None:
    assert StreamDecoder().feed("") == []


def test_stream_without_done_or_finish_is_incomplete() -> None:
    with pytest.raises(mt.IncompleteStreamError, match="ended before the answer was complete"):
        run(chunk({"content": "partial"}), done=False)


def test_finish_without_done_is_complete() -> None:
    events = run(chunk({"content": "<think>x"}), chunk({}, "stop"), done=False)
    assert texts(events, mt.ReasoningDelta) == "x"


def test_done_without_finish_flushes_held_text() -> None:
    events = run(chunk({"content": "<thi"}))
    assert texts(events, mt.TextDelta) == "<thi"
    assert not any(isinstance(e, mt.FinishEvent) for e in events)


def test_unknown_fields_are_ignored() -> None:
    body = chunk(
        {"content": "a", "provider_specific": 1}, "stop", provider="X", native_finish_reason="eos"
    )
    body["choices"][0]["logprobs"] = None
    assert texts(run(body), mt.TextDelta) == "a"


def test_accumulator_add_one_by_one() -> None:
    acc = mt.StreamAccumulator()
    for event in run(chunk({"reasoning_content": "r", "content": "a"}), chunk({}, "stop")):
        acc.add(event)
    result = acc.result()
    assert result == mt.ChatCompletion(
        id="gen-1",
        model="mistralai-Magistral-Small-2506",
        created=1771658583,
        choices=result.choices,
    )
    assert (result.first.content, result.first.reasoning, result.first.finish_reason) == (
        "a",
        "r",
        "stop",
    )


# -- properties ---------------------------------------------------------------------------

_piece = st.sampled_from(
    ["<think>", "</think>", "<", "</th", "ink>", " ", "\n", "a", "é", "\u2028"]
)


@st.composite
def _stream(draw: st.DrawFn) -> bytes:
    content = "".join(draw(st.lists(_piece, max_size=15)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(content)), max_size=5))))
    pieces = [content[a:b] for a, b in zip([0, *cuts], [*cuts, len(content)], strict=True)]
    payloads = [chunk({"content": p}) for p in pieces]
    args = draw(st.lists(st.sampled_from(['{"a"', ":", "1", "}"]), max_size=4))
    if args:
        payloads.append(
            chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]})
        )
        payloads += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in args
        ]
    payloads.append(chunk({}, "stop", usage={"prompt_tokens": 3, "completion_tokens": 4}))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [f": keep-alive{end}{end}"] + [f"data: {json.dumps(p)}{end}{end}" for p in payloads]
    lines.append(f"data: [DONE]{end}" if draw(st.booleans()) else "data: [DONE]")
    return "".join(lines).encode()


@settings(deadline=None, max_examples=150)
@given(raw=_stream(), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_any_byte_split_gives_the_same_completion(raw: bytes, cuts: list[int]) -> None:
    assert decode_bytes(split_bytes(raw, cuts)) == decode_bytes([raw])


_json = json_values(text_size=6, key_size=6, max_leaves=12)
_blocks = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "thinking", "reasoning", "image_url"]) | _json},
        optional={"text": _json, "thinking": _json, "reasoning": _json},
    )
    | _json,
    max_size=3,
)
_fragments = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "index": st.integers(0, 3) | _json,
            "id": st.sampled_from(["a", "b"]) | _json,
            "function": st.fixed_dictionaries(
                {}, optional={"name": st.sampled_from(["f", "g"]) | _json, "arguments": _json}
            )
            | _json,
        },
    )
    | _json,
    max_size=3,
)
_chunkish = st.fixed_dictionaries(
    {},
    optional={
        "id": _json,
        "model": _json,
        "created": _json,
        "usage": _json,
        "status": _json,
        "error": _json,
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": _json,
                    "finish_reason": _json,
                    "delta": st.fixed_dictionaries(
                        {},
                        optional={
                            "content": _blocks | _json,
                            "reasoning": _json,
                            "reasoning_content": _json,
                            "tool_calls": _fragments | _json,
                            "function_call": _json,
                        },
                    )
                    | _json,
                },
            )
            | _json,
            max_size=3,
        ),
    },
)


@settings(deadline=None, max_examples=200)
@given(payloads=st.lists(_chunkish | _json, max_size=5), done=st.booleans())
def test_arbitrary_json_raises_only_typed_errors(payloads: list[object], done: bool) -> None:
    try:
        events = run(*(json.dumps(p) for p in payloads), done=done)
        mt.accumulate(events)
    except mt.ModelsLabError:
        pass
