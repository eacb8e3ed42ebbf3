"""Forced tool use ends through the one tool left (a structured agent's schema tool)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from modelslab_emulator import Emulator
from tests.support.stdlib_http import chat, sse_data, user
from tests.support.tool_specs import STRING, function_tool

WEATHER = function_tool("get_weather", city=STRING)
REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "temperature_c": {"type": "number"},
        "summary": {"type": "string"},
    },
    "required": ["city", "temperature_c", "summary"],
}
# LangChain's ToolStrategy names the tool after the schema class and appends it to the tools.
REPORT = {"type": "function", "function": {"name": "WeatherReport", "parameters": REPORT_SCHEMA}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
QUESTION = user("What is the weather in Paris?")


def _reply(emu: Emulator, messages: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    data = chat(emu, messages=messages, **body).json()
    return data["choices"][0]["message"]  # type: ignore[no-any-return]


def _answered(emu: Emulator, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The question, the model's get_weather call and its result."""
    first = _reply(emu, QUESTION, tools=tools, tool_choice="required")
    assert [c["function"]["name"] for c in first["tool_calls"]] == ["get_weather"]
    call_id = first["tool_calls"][0]["id"]
    return [*QUESTION, first, {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21C"}]


def test_forced_tool_use_ends_through_the_tool_left(emu: Emulator) -> None:
    convo = _answered(emu, [WEATHER, REPORT])
    final = _reply(emu, convo, tools=[WEATHER, REPORT], tool_choice="required")
    [call] = final["tool_calls"]
    assert call["function"]["name"] == "WeatherReport"
    arguments = json.loads(call["function"]["arguments"])
    jsonschema.validate(arguments, REPORT_SCHEMA)
    assert arguments["city"] == "Paris"


def test_streamed_final_tool_call(emu: Emulator) -> None:
    convo = _answered(emu, [WEATHER, REPORT])
    resp = chat(emu, messages=convo, tools=[WEATHER, REPORT], tool_choice="required", stream=True)
    chunks = [json.loads(d) for d in sse_data(resp.body) if d != "[DONE]"]
    fragments = [
        f for c in chunks for ch in c["choices"] for f in ch["delta"].get("tool_calls") or []
    ]
    assert [f["function"]["name"] for f in fragments if "name" in f["function"]] == [
        "WeatherReport"
    ]
    arguments = json.loads("".join(f["function"]["arguments"] for f in fragments))
    jsonschema.validate(arguments, REPORT_SCHEMA)


def test_auto_still_answers_in_text(emu: Emulator) -> None:
    convo = _answered(emu, [WEATHER, REPORT])
    final = _reply(emu, convo, tools=[WEATHER, REPORT])
    assert final["content"] == 'Based on the tool results: get_weather returned "sunny, 21C".'
    assert "tool_calls" not in final


@pytest.mark.parametrize("choice", ["required", "forced"])
def test_a_forced_function_is_called_once_results_are_in(emu: Emulator, choice: str) -> None:
    convo = _answered(emu, [WEATHER, REPORT])
    tool_choice: Any = choice
    if choice == "forced":
        tool_choice = {"type": "function", "function": {"name": "WeatherReport"}}
    final = _reply(emu, convo, tools=[REPORT], tool_choice=tool_choice)
    assert [c["function"]["name"] for c in final["tool_calls"]] == ["WeatherReport"]


def test_two_tools_left_is_not_a_final_answer(emu: Emulator) -> None:
    """Two unnamed tools left: the emulator cannot tell which one ends the loop, so it keeps
    today's rule (the named tools again); only one left is taken as the schema's tool."""
    convo = _answered(emu, [WEATHER, TIME, REPORT])
    final = _reply(emu, convo, tools=[WEATHER, TIME, REPORT], tool_choice="required")
    assert [c["function"]["name"] for c in final["tool_calls"]] == ["get_weather"]
