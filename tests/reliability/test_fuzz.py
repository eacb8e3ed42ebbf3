"""Property tests over the decoding pipeline, beyond tests/transport: whole generated OpenAI
chunk streams (reasoning, answer, several tool calls, usage) rendered to SSE bytes with mixed
line endings, comments and multi-line data, cut at random byte positions, must decode to
exactly the answer they were generated from; mutated streams and arbitrary fragments raise
nothing but the package's typed errors; error bodies never leak the key."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelslab_transport import (
    ChatCompletion,
    ModelsLabError,
    ThinkSplitter,
    ToolCall,
    ToolCallAssembler,
    ToolCallDelta,
    parse_completion,
)
from modelslab_transport._failures import error_from_payload, error_from_response
from tests.support.wire_bytes import decode_bytes, json_values, split_bytes

FAST = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
KEY = "sk-fuzz-canary-9d8e7f6a"

# -- a generated answer, and its rendering as an SSE byte stream --------------------------------

_words = st.text(alphabet=string.ascii_letters + " éü世🙂\u2028<>/[]{}\"'\\:,", max_size=30)
_answer = st.tuples(st.sampled_from(list(string.ascii_letters + "éü世")), _words).map("".join)
_reasoning = (
    _words.map(str.strip)
    .filter(lambda r: "</think>" not in r and "[/THINK]" not in r)
    .filter(lambda r: not r.startswith(("<think>", "[THINK]")))
)
# A model whose chat template opens <think> itself (catalogue style `template_opened`).
TEMPLATE_OPENED = "deepseek-deepseek-r1-distill-llama-70b"
_STYLES = ["think", "THINK", "field", "none", "blocks", "opened", "unterminated"]
_args = st.dictionaries(
    st.sampled_from(["city", "n", "q", "deep"]),
    st.integers(-5, 10**6) | st.text(max_size=8) | st.booleans() | st.none(),
    max_size=3,
)
_call = st.tuples(st.sampled_from(["get_weather", "search", "f_1"]), _args)


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """What the model 'said': the oracle a decoded stream must reproduce."""
    calls = draw(st.lists(_call, max_size=3))
    style = draw(st.sampled_from(_STYLES))
    return {
        "reasoning": draw(_reasoning),
        # A <think> that never closes has no answer after it.
        "answer": ""
        if style == "unterminated" or (calls and draw(st.booleans()))
        else draw(_answer),
        "calls": [
            (f"call{i}x{draw(st.integers(0, 99))}", name, json.dumps(args, ensure_ascii=False))
            for i, (name, args) in enumerate(calls)
        ],
        "style": style,
        "tool_style": draw(st.sampled_from(["openai", "repeat", "no_index", "one_chunk"])),
        "usage": draw(st.sampled_from(["none", "own_chunk", "last_chunk"])),
        "finish": draw(st.sampled_from(["stop", "length", "tool_calls"])),
    }


def _cut(text: str, points: list[int]) -> list[str]:
    marks = sorted({p % (len(text) + 1) for p in points})
    return [text[a:b] for a, b in zip([0, *marks], [*marks, len(text)], strict=True)]


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "gen-fz", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}


def payloads(spec: dict[str, Any], cuts: list[int]) -> list[dict[str, Any]]:
    """The chunk objects of a stream saying `spec`, text cut at `cuts`."""
    reasoning, answer, style = spec["reasoning"], spec["answer"], spec["style"]
    if style == "none":
        reasoning = ""
    out = [_chunk({"role": "assistant", "content": ""})]
    if style == "field":
        out += [_chunk({"reasoning_content": p}) for p in _cut(reasoning, cuts) if p]
        content = answer
    elif style == "blocks":  # Mistral's nested thinking blocks
        out += [_chunk({"content": [_thinking(p)]}) for p in _cut(reasoning, cuts) if p]
        content = answer
    elif style == "none":
        content = answer
    elif style == "opened":  # the template opened <think>: only the closing tag is written
        content = f"{reasoning}\n</think>\n\n{answer}"
    elif style == "unterminated":
        content = f"  <think>\n{reasoning}"
    else:
        tags = ("<think>", "</think>") if style == "think" else ("[THINK]", "[/THINK]")
        content = f"  {tags[0]}\n{reasoning}\n{tags[1]}\n\n{answer}"
    out += [_chunk({"content": p}) for p in _cut(content, cuts) if p]
    calls, tool_style = spec["calls"], spec["tool_style"]
    if tool_style == "one_chunk" and calls:
        whole = [
            {"index": i, "id": cid, "type": "function", "function": {"name": n, "arguments": a}}
            for i, (cid, n, a) in enumerate(calls)
        ]
        out.append(_chunk({"tool_calls": whole}))
    else:
        for i, (cid, name, arguments) in enumerate(calls):
            for n, piece in enumerate(_cut(arguments, cuts[::-1])):
                fragment: dict[str, Any] = {"function": {"arguments": piece}}
                if tool_style != "no_index":
                    fragment["index"] = i
                if n == 0 or tool_style in ("repeat", "no_index"):
                    fragment["id"] = cid
                if n == 0 or tool_style == "repeat":
                    fragment["function"]["name"] = name
                    fragment["type"] = "function"
                out.append(_chunk({"tool_calls": [fragment]}))
    usage = {"prompt_tokens": 7, "completion_tokens": 11, "total_tokens": 18}
    last = _chunk({}, spec["finish"])
    if spec["usage"] == "last_chunk":
        last["usage"] = usage
    out.append(last)
    if spec["usage"] == "own_chunk":
        out.append(
            {"id": "gen-fz", "object": "chat.completion.chunk", "choices": [], "usage": usage}
        )
    if style == "opened":
        out[0]["model"] = TEMPLATE_OPENED  # the decoder reads the style from the first chunk
    return out


def _thinking(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


def expected(spec: dict[str, Any]) -> tuple[str, str, str | None]:
    """(content, reasoning, reasoning_state) the decoded answer must have."""
    reasoning = "" if spec["style"] == "none" else spec["reasoning"]
    if spec["style"] != "unterminated":
        return spec["answer"], reasoning, None
    if spec["finish"] == "length":
        return "", reasoning, "cut"
    if spec["calls"]:
        return "", reasoning, None
    return reasoning, reasoning, "unterminated"  # the never-closed block is the answer


@st.composite
def renderings(draw: st.DrawFn, events: list[str]) -> bytes:
    """SSE bytes for `events` (data payloads): each line end drawn anew, optional BOM,
    comments between events, `data:` with or without a space, JSON over several data lines."""
    ends = st.sampled_from(["\n", "\r\n", "\r"])
    out = ["\ufeff"] if draw(st.booleans()) else []
    for data in events:
        if draw(st.integers(0, 4)) == 0:
            out.append(f": keep-alive{draw(ends)}")
        space = " " if draw(st.booleans()) else ""
        lines = data.split("\n")  # indented JSON: several data lines, joined back with LF
        end = "\n"
        for line in lines:
            end = draw(ends)
            out.append(f"data:{space}{line}{end}")
        # After a lone CR, a LF would only complete a CRLF, not make the blank line.
        out.append(draw(st.sampled_from(["\r", "\r\n"])) if end == "\r" else draw(ends))
    if draw(st.booleans()):
        out[-1] = ""  # the stream ends without its last blank line
    return "".join(out).encode()


@settings(FAST, max_examples=60)
@given(spec=answers(), cuts=st.lists(st.integers(0, 200), max_size=8), data=st.data())
def test_generated_streams_decode_to_what_was_said_however_split(
    spec: dict[str, Any], cuts: list[int], data: st.DataObject
) -> None:
    events = [
        json.dumps(
            p,
            ensure_ascii=data.draw(st.booleans()),
            indent=data.draw(st.sampled_from([None, 1])),
        )
        for p in payloads(spec, cuts)
    ]
    events.append("[DONE]")
    raw = data.draw(renderings(events))
    splits = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    result = decode_bytes(split_bytes(raw, splits))
    choice = result.first
    assert (choice.content, choice.reasoning, choice.reasoning_state) == expected(spec)
    assert [(c.id, c.name, c.arguments) for c in choice.tool_calls] == [
        (cid, name, arguments or "{}") for cid, name, arguments in spec["calls"]
    ]
    assert choice.finish_reason == spec["finish"]
    if spec["usage"] == "none":
        assert result.usage is None
    else:
        assert result.usage is not None and result.usage.total_tokens == 18
    # Three bytes at a time gives the same completion.
    assert decode_bytes([raw[i : i + 3] for i in range(0, len(raw), 3)]) == result


@FAST
@given(spec=answers(), cuts=st.lists(st.integers(0, 200), max_size=6))
def test_streamed_answer_equals_the_same_answer_sent_whole(
    spec: dict[str, Any], cuts: list[int]
) -> None:
    raw = "".join(f"data: {json.dumps(p)}\n\n" for p in payloads(spec, cuts)) + "data: [DONE]\n\n"
    streamed = decode_bytes([raw.encode()]).first
    content: Any = "".join(
        p["choices"][0]["delta"].get("content") or ""
        for p in payloads(spec, cuts)
        if p["choices"] and not isinstance(p["choices"][0]["delta"].get("content"), list)
    )
    if spec["style"] == "blocks":
        content = [_thinking(spec["reasoning"]), {"type": "text", "text": content}]
    whole = parse_completion(
        {
            "id": "gen-fz",
            "model": TEMPLATE_OPENED if spec["style"] == "opened" else "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": spec["finish"],
                    "message": {
                        "role": "assistant",
                        "content": content,
                        **(
                            {"reasoning_content": spec["reasoning"]}
                            if spec["style"] == "field"
                            else {}
                        ),
                        "tool_calls": [
                            {"id": c, "type": "function", "function": {"name": n, "arguments": a}}
                            for c, n, a in spec["calls"]
                        ],
                    },
                }
            ],
        }
    ).first
    assert (streamed.content, streamed.reasoning) == (whole.content, whole.reasoning)
    assert streamed.reasoning_state == whole.reasoning_state
    assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [
        (c.id, c.name, c.arguments) for c in whole.tool_calls
    ]


# -- mutated and arbitrary input: only typed errors, never a leak ------------------------------


@FAST
@given(
    spec=answers(),
    edits=st.lists(
        st.tuples(st.integers(0, 10**4), st.sampled_from(["flip", "drop", "insert"]), st.binary()),
        min_size=1,
        max_size=6,
    ),
    splits=st.lists(st.integers(0, 10**4), max_size=8),
)
def test_mutated_streams_raise_only_typed_errors(
    spec: dict[str, Any], edits: list[tuple[int, str, bytes]], splits: list[int]
) -> None:
    raw = bytearray(
        "".join(f"data: {json.dumps(p)}\n\n" for p in payloads(spec, [3, 9])).encode()
        + b"data: [DONE]\n\n"
    )
    for position, kind, blob in edits:
        at = position % (len(raw) + 1)
        if kind == "flip" and at < len(raw):
            raw[at] ^= 0xFF
        elif kind == "drop":
            del raw[at : at + 5]
        else:
            raw[at:at] = blob[:8] + KEY.encode()
    caught: ModelsLabError | None = None
    try:
        result = decode_bytes(split_bytes(bytes(raw), splits), secret=KEY)
    except ModelsLabError as error:  # anything else fails the test
        caught = error
    if caught is None:
        assert isinstance(result, ChatCompletion)
    else:
        assert KEY not in f"{caught} {caught!r} {vars(caught)!r}"
        assert "\n" not in str(caught)


_json = json_values(text_size=6, key_size=5, max_leaves=8, floats=False, object_size=None)
_fragment = st.fixed_dictionaries(
    {},
    optional={
        "index": st.integers(-2, 4) | st.sampled_from(["0", "1", "x", True]) | _json,
        "id": st.sampled_from(["a", "b", ""]) | _json,
        "function": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["f", "g", ""]) | _json,
                "arguments": st.sampled_from(['{"a"', ":1}", ""]) | _json,
            },
        )
        | _json,
    },
)


@FAST
@given(chunks=st.lists(st.lists(_fragment | _json, max_size=4), max_size=6))
def test_tool_call_deltas_always_rebuild_the_assembled_calls(chunks: list[list[Any]]) -> None:
    assembler = ToolCallAssembler()
    deltas: list[ToolCallDelta] = []
    for fragments in chunks:
        deltas.extend(assembler.feed(fragments))
    deltas.extend(assembler.flush())
    calls: dict[int, list[Any]] = {}
    for delta in deltas:
        if delta.index not in calls:
            assert delta.id and delta.name is not None  # id and name ride on the first delta
            calls[delta.index] = [delta.id, delta.name, []]
        else:
            assert delta.id is None and delta.name is None
        calls[delta.index][2].append(delta.arguments)
    rebuilt = [ToolCall(c[0], c[1], "".join(c[2]) or "{}") for _, c in sorted(calls.items())]
    assert rebuilt == assembler.calls()


def test_placeholder_fragment_does_not_shift_the_next_call_index() -> None:
    assembler = ToolCallAssembler()
    deltas = assembler.feed([{"index": 0}, {"id": "a", "function": {"name": "f"}}])
    deltas += assembler.flush()
    assert [d.index for d in deltas] == [0]


@FAST
@given(
    reasoning=_reasoning,
    answer=_answer,
    tag=st.sampled_from([("<think>", "</think>"), ("[THINK]", "[/THINK]")]),
    cuts=st.lists(st.integers(0, 100), max_size=10),
)
def test_think_splitter_lets_the_answer_through_without_delay(
    reasoning: str, answer: str, tag: tuple[str, str], cuts: list[int]
) -> None:
    """Once the answer has started, every later piece comes straight back, unbuffered."""
    splitter = ThinkSplitter()
    text = f"\n{tag[0]}{reasoning}{tag[1]}\n{answer}"
    out_answer, out_reasoning, started = [], [], False
    for piece in _cut(text, cuts):
        got_answer, got_reasoning = splitter.feed(piece)
        if started:
            assert (got_answer, got_reasoning) == (piece, "")
        started = started or bool(got_answer)
        out_answer.append(got_answer)
        out_reasoning.append(got_reasoning)
    closing = splitter.close()
    assert "".join([*out_answer, closing[0]]) == answer
    assert "".join([*out_reasoning, closing[1]]) == reasoning


@FAST
@given(text=st.text(max_size=40), cuts=st.lists(st.integers(0, 60), max_size=8))
def test_think_splitter_loses_nothing_without_an_opening_tag(text: str, cuts: list[int]) -> None:
    if text.lstrip().startswith(("<think>", "[THINK]")):
        return
    splitter = ThinkSplitter()
    pieces = [splitter.feed(piece) for piece in _cut(text, cuts)] + [splitter.close()]
    assert "".join(a for a, _ in pieces) == text
    assert "".join(r for _, r in pieces) == ""


_message = st.tuples(st.text(max_size=10), st.text(max_size=10)).map(lambda p: p[0] + KEY + p[1])


@FAST
@given(
    status=st.sampled_from([200, 400, 401, 402, 403, 404, 422, 429, 500, 502, 503]),
    message=_message,
    shape=st.sampled_from(["openai", "modelslab", "legacy", "raw", "html", "text"]),
    ascii_only=st.booleans(),
)
def test_error_bodies_never_carry_the_key(
    status: int, message: str, shape: str, ascii_only: bool
) -> None:
    """The key echoed anywhere in an error body (also JSON-escaped) is scrubbed everywhere."""
    bodies = {
        "openai": {"error": {"message": message, "type": "x", "code": str(status)}},
        "modelslab": {"status": "error", "message": message, "detail": [message]},
        "legacy": {"status": "error", "messege": message},
        "raw": {"error": {"message": "upstream", "metadata": {"raw": message}}},
    }
    if shape == "html":
        raw = f"<html><title>{message}</title><body>{message}</body></html>".encode()
    elif shape == "text":
        raw = message.encode()
    else:
        raw = json.dumps(bodies[shape], ensure_ascii=ascii_only).encode()
    error = error_from_response(status, raw, {"x-request-id": "req-1"}, secret=KEY)
    assert isinstance(error, ModelsLabError)
    assert KEY not in f"{error} {error!r} {vars(error)!r} {error.args!r}"
    if status >= 400:
        assert error.status_code == status
    if shape not in ("html", "text"):
        payload_error = error_from_payload(bodies[shape], status=status, secret=KEY)
        assert payload_error is not None
        assert KEY not in f"{payload_error!r} {vars(payload_error)!r}"
