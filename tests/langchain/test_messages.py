"""Pure conversions, no HTTP: LangChain messages and tools → ModelsLab wire dicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_modelslab import ModelsLabInvalidInputError
from langchain_modelslab._messages import convert_messages
from langchain_modelslab._tools import format_tool_choice, format_tools
from modelslab_transport import normalize_tool_call_id

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def test_system_human_ai_roles_and_names() -> None:
    wire = convert_messages(
        [
            SystemMessage("Be brief."),
            HumanMessage("Hi", name="alice"),
            AIMessage("Hello!", name="bot"),
            ChatMessage(role="user", content="And you?"),
        ]
    )
    assert wire == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi", "name": "alice"},
        {"role": "assistant", "content": "Hello!", "name": "bot"},
        {"role": "user", "content": "And you?"},
    ]


def test_human_text_and_image_parts_in_every_spelling() -> None:
    [wire] = convert_messages(
        [
            HumanMessage(
                [
                    "Describe",
                    {"type": "text", "text": "these images"},
                    {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                    {"type": "image", "url": "https://x.test/b.png"},
                    {"type": "image", "base64": PNG, "mime_type": "image/png"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                ]
            )
        ]
    )
    assert wire["role"] == "user"
    parts = wire["content"]
    assert parts[:2] == [
        {"type": "text", "text": "Describe"},
        {"type": "text", "text": "these images"},
    ]
    urls = [p["image_url"]["url"] for p in parts[2:]]
    assert urls == [
        "https://x.test/a.png",
        "https://x.test/b.png",
        f"data:image/png;base64,{PNG}",
        f"data:image/png;base64,{PNG}",
    ]


def test_text_only_lists_become_a_string() -> None:
    [wire] = convert_messages([HumanMessage([{"type": "text", "text": "a"}, "b"])])
    assert wire == {"role": "user", "content": "a\nb"}


def test_unsupported_blocks_are_refused_clearly() -> None:
    message = HumanMessage([{"type": "file", "base64": "AAAA", "mime_type": "application/pdf"}])
    with pytest.raises(ModelsLabInvalidInputError, match="text and images"):
        convert_messages([message])
    with pytest.raises(ModelsLabInvalidInputError, match="FunctionMessage"):
        convert_messages([FunctionMessage(content="x", name="f")])


def test_tool_call_ids_are_normalised_and_stay_paired() -> None:
    history = [
        HumanMessage("add 1 and 2"),
        AIMessage(
            "",
            tool_calls=[
                {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_abc123-xyz"},
                {"name": "add", "args": {"a": 3, "b": 4}, "id": "Abc123xyZ"},
            ],
        ),
        ToolMessage("3", tool_call_id="call_abc123-xyz"),
        ToolMessage("7", tool_call_id="Abc123xyZ"),
    ]
    wire = convert_messages(history)
    calls = wire[1]["tool_calls"]
    assert wire[1]["content"] is None
    assert [c["id"] for c in calls] == [wire[2]["tool_call_id"], wire[3]["tool_call_id"]]
    assert all(len(c["id"]) == 9 and c["id"].isalnum() for c in calls)
    assert calls[1]["id"] == "Abc123xyZ"  # already valid: unchanged
    assert calls[0]["id"] == normalize_tool_call_id("call_abc123-xyz")
    assert json.loads(calls[0]["function"]["arguments"]) == {"a": 1, "b": 2}
    # The same history converts identically on the next turn.
    assert convert_messages(history) == wire


def test_tool_messages_string_list_and_error_status() -> None:
    ai = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1"}])
    wire = convert_messages(
        [
            HumanMessage("go"),
            ai,
            ToolMessage([{"type": "text", "text": "part one"}, {"k": 1}], tool_call_id="c1"),
        ]
    )
    assert wire[2]["content"] == 'part one\n{"k": 1}'
    failed = convert_messages([ToolMessage("division by zero", tool_call_id="c1", status="error")])
    assert failed[0]["content"] == "Error: division by zero"
    named = convert_messages([ToolMessage("ok", tool_call_id="c1", name="f")])
    assert named[0]["name"] == "f"


def test_ai_list_content_keeps_text_only() -> None:
    ai = AIMessage(
        [
            {"type": "reasoning", "reasoning": "secret thoughts"},
            {"type": "text", "text": "some text"},
            {"type": "tool_use", "id": "abc123", "name": "f", "input": {}},
        ],
        tool_calls=[{"name": "f", "args": {}, "id": "abc123"}],
    )
    [wire] = convert_messages([ai])
    assert wire["content"] == "some text"
    assert "secret" not in json.dumps(wire)


def test_reasoning_is_not_sent_back_unless_asked() -> None:
    ai = AIMessage("Paris.", additional_kwargs={"reasoning_content": "France's capital..."})
    history = [HumanMessage("Capital of France?"), ai, HumanMessage("Sure?")]
    assert "France's capital" not in json.dumps(convert_messages(history))
    wire = convert_messages(history, reasoning_in_history=True)
    assert wire[1]["content"] == "<think>\nFrance's capital...\n</think>\nParis."


def test_consecutive_same_role_messages_are_merged() -> None:
    wire = convert_messages(
        [
            SystemMessage("one"),
            SystemMessage("two"),
            HumanMessage("a"),
            HumanMessage("b"),
            AIMessage("x"),
            AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1"}]),
            ToolMessage("r1", tool_call_id="c1"),
            ToolMessage("r2", tool_call_id="c1"),
        ]
    )
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "tool", "tool"]
    assert wire[0]["content"] == "one\n\ntwo"
    assert wire[1]["content"] == "a\n\nb"
    assert wire[2]["content"] == "x"
    assert len(wire[2]["tool_calls"]) == 1


class Weather(BaseModel):
    """Weather in a city."""

    city: str = Field(description="City name")


class Clock(TypedDict):
    """Time in a city."""

    city: str


@tool
def get_time(city: str) -> str:
    """Local time in a city."""
    return "09:00"


def lookup(city: str, days: int = 1) -> str:
    """Forecast for a city.

    Args:
        city: the city
        days: how many days
    """
    return "sunny"


RAW_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "raw", "description": "d", "parameters": {"type": "object"}},
}


def test_every_tool_form_formats_to_a_function_tool() -> None:
    tools = format_tools([Weather, Clock, get_time, lookup, RAW_TOOL])
    assert [t["function"]["name"] for t in tools] == [
        "Weather",
        "Clock",
        "get_time",
        "lookup",
        "raw",
    ]
    assert all(t["type"] == "function" for t in tools)
    assert tools[0]["function"]["parameters"]["required"] == ["city"]
    strict = format_tools([Weather], strict=True)[0]["function"]
    assert strict["strict"] is True


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        (False, None),
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
        (
            {"type": "function", "function": {"name": "Weather"}},
            {"type": "function", "function": {"name": "Weather"}},
        ),
        (
            {"type": "tool", "name": "Weather"},
            {"type": "function", "function": {"name": "Weather"}},
        ),
        ({"type": "any"}, "required"),
    ],
)
def test_tool_choice_spellings(choice: Any, expected: Any) -> None:
    tools = format_tools([Weather, get_time])
    assert format_tool_choice(choice, tools) == expected


def test_tool_choice_true_with_one_tool_forces_it_and_unknown_names_fail() -> None:
    one = format_tools([Weather])
    assert format_tool_choice(True, one) == {"type": "function", "function": {"name": "Weather"}}
    with pytest.raises(ModelsLabInvalidInputError, match=r"neither"):
        format_tool_choice("nope", one)
    with pytest.raises(ModelsLabInvalidInputError):
        format_tool_choice({"type": "function", "function": {"name": "nope"}}, one)
