"""The pure conversions of llama_index_modelslab.utils and the stream folder, without HTTP."""

from __future__ import annotations

import json

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

import modelslab_transport as mt
from llama_index_modelslab._streaming import ChatStream
from llama_index_modelslab.utils import (
    force_single_tool_call,
    make_assistant_message,
    model_context_window,
    parse_tool_arguments,
    resolve_tool_choice,
    to_wire_messages,
    to_wire_tools,
    tool_selections_from_response,
)


def _assistant_with_call() -> ChatMessage:
    return ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            ThinkingBlock(content="secret reasoning"),
            TextBlock(text="Let me look."),
            ToolCallBlock(tool_call_id="call_abc", tool_name="add", tool_kwargs={"a": 1}),
        ],
        additional_kwargs={"tool_calls": [{"id": "call_abc", "function": {"name": "add"}}]},
    )


def test_wire_messages_drop_thinking_and_normalise_ids() -> None:
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content="Be brief."),
        ChatMessage(role=MessageRole.DEVELOPER, content="Really brief."),
        ChatMessage(role=MessageRole.USER, content="Add 1"),
        _assistant_with_call(),
        ChatMessage(
            role=MessageRole.TOOL, content="2", additional_kwargs={"tool_call_id": "call_abc"}
        ),
    ]
    before = [m.model_dump() for m in messages]
    wire = to_wire_messages(messages)
    assert [m.model_dump() for m in messages] == before  # inputs untouched
    assert [m["role"] for m in wire] == ["system", "system", "user", "assistant", "tool"]
    assistant = wire[3]
    assert assistant["content"] == "Let me look."  # no thinking sent back
    assert "secret reasoning" not in json.dumps(wire)
    (call,) = assistant["tool_calls"]  # blocks win over the legacy duplicate in additional_kwargs
    assert call["id"] == mt.normalize_tool_call_id("call_abc")
    assert len(call["id"]) == 9
    assert call["id"].isalnum()
    assert json.loads(call["function"]["arguments"]) == {"a": 1}
    assert wire[4] == {"role": "tool", "content": "2", "tool_call_id": call["id"]}


def test_wire_message_tool_call_only_has_null_content_and_legacy_calls() -> None:
    legacy = ChatMessage(
        role=MessageRole.ASSISTANT,
        content="",
        additional_kwargs={
            "tool_calls": [
                {
                    "id": "abcdefghi",
                    "type": "function",
                    "function": {"name": "f", "arguments": "{}"},
                }
            ]
        },
    )
    (wire,) = to_wire_messages([legacy])
    assert wire["content"] is None
    assert wire["tool_calls"][0]["id"] == "abcdefghi"  # already valid: kept as is


def test_wire_message_with_image_uses_parts() -> None:
    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[TextBlock(text="What is this?"), ImageBlock(url="https://example.com/cat.png")],
    )
    (wire,) = to_wire_messages([message])
    assert wire["content"][0] == {"type": "text", "text": "What is this?"}
    assert wire["content"][1]["image_url"]["url"] == "https://example.com/cat.png"


def test_wire_tools_and_tool_choice() -> None:
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    (spec,) = to_wire_tools([FunctionTool.from_defaults(add)])
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "add"
    assert spec["function"]["parameters"]["type"] == "object"
    assert resolve_tool_choice(None, False, ["add"]) == "auto"
    assert resolve_tool_choice(None, True, ["add"]) == "required"
    assert resolve_tool_choice("none", True, ["add"]) == "none"
    assert resolve_tool_choice("add", False, ["add"]) == {
        "type": "function",
        "function": {"name": "add"},
    }
    with pytest.raises(mt.InvalidInputError, match="names none of the tools"):
        resolve_tool_choice("sub", False, ["add"])


def test_model_context_window() -> None:
    assert model_context_window("mistralai-Magistral-Small-2506") == 40_960
    assert model_context_window("something-else") == 32_768
    assert model_context_window("meta-llama-llama-3.1-8b-instruct") == 131_072


@pytest.mark.parametrize(
    "text",
    [
        '{"city": "Paris", "days": [1, 2], "deep": {"x": "a\\"b"}, "ok": true}',
        '{"a": 1.5e3, "b": null, "c": "tail"}',
    ],
)
def test_every_prefix_of_tool_arguments_parses_partially(text: str) -> None:
    for end in range(len(text) + 1):
        value = parse_tool_arguments(text[:end], partial=True)
        assert isinstance(value, dict)
    assert parse_tool_arguments(text) == json.loads(text)
    assert parse_tool_arguments('{"city": "Par', partial=True) == {"city": "Par"}


def test_tool_arguments_strict_mode_raises() -> None:
    with pytest.raises(json.JSONDecodeError):
        parse_tool_arguments('{"city": "Par')
    with pytest.raises(ValueError, match="not an object"):
        parse_tool_arguments("[1, 2]")
    assert parse_tool_arguments("  ") == {}


def test_tool_selections_partial_and_strict() -> None:
    calls = [mt.ToolCall(id="k", name="f", arguments='{"q": "hel')]
    partial = make_assistant_message("", "", calls, complete=False)
    from llama_index.core.base.llms.types import ChatResponse

    response = ChatResponse(message=partial)
    (selection,) = tool_selections_from_response(response, error_on_no_tool_call=False)
    assert selection.tool_kwargs == {"q": "hel"}
    with pytest.raises(ValueError, match="not a JSON object"):
        tool_selections_from_response(response, error_on_no_tool_call=True)
    empty = ChatResponse(message=make_assistant_message("hi", "", []))
    assert tool_selections_from_response(empty, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="Expected at least one tool call"):
        tool_selections_from_response(empty)


def test_force_single_tool_call() -> None:
    from llama_index.core.base.llms.types import ChatResponse

    calls = [
        mt.ToolCall(id="a", name="f", arguments="{}"),
        mt.ToolCall(id="b", name="g", arguments="{}"),
    ]
    response = ChatResponse(message=make_assistant_message("", "", calls))
    force_single_tool_call(response)
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert [b.tool_name for b in blocks] == ["f"]
    assert len(response.message.additional_kwargs["tool_calls"]) == 1


def test_chat_stream_folds_events() -> None:
    stream = ChatStream()
    events = [
        mt.StreamStart(id="gen-1", model="m"),
        mt.ReasoningDelta("thinking "),
        mt.ReasoningDelta("hard"),
        mt.TextDelta("Hel"),
        mt.TextDelta("lo"),
        mt.TextDelta("ignored", choice=1),
        mt.ToolCallDelta(index=0, id="abc", name="f", arguments='{"x"'),
        mt.ToolCallDelta(index=0, id=None, name=None, arguments=": 1}"),
        mt.FinishEvent("tool_calls"),
        mt.UsageEvent(mt.Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)),
    ]
    responses = [r for r in map(stream.feed, events) if r is not None]
    final = stream.final()
    assert [r.delta for r in responses][:4] == ["", "", "Hel", "lo"]
    assert responses[0].additional_kwargs == {"thinking_delta": "thinking "}
    assert all("thinking" not in (r.message.content or "") for r in responses)
    assert "".join(r.delta or "" for r in responses) == final.message.content == "Hello"
    assert final.delta == ""
    assert final.additional_kwargs == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }
    assert final.raw["usage"]["total_tokens"] == 7
    assert final.raw["finish_reason"] == "tool_calls"
    kinds = [type(b).__name__ for b in final.message.blocks]
    assert kinds == ["ThinkingBlock", "TextBlock", "ToolCallBlock"]  # each block once
    assert final.message.blocks[-1].tool_kwargs == {"x": 1}  # type: ignore[union-attr]
    assert final.message.additional_kwargs["tool_calls"][0]["function"]["arguments"] == '{"x": 1}'


def test_import_without_llama_index_names_the_extra() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        sys.modules["llama_index.core"] = None  # as if llama-index-core were not installed
        try:
            import llama_index_modelslab
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "modelslab-integrations[llama-index]"' in out.stdout
