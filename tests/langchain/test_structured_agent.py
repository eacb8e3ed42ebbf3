"""``create_agent(..., response_format=Schema)`` over ChatModelsLab ends with a structured answer."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator
from tests.support import weather_agent
from tests.support.weather_agent import QUESTION, WeatherReport, calls

KEY = "test-key-structured-agent-0123"
#: Far below LangChain's default recursion limit (25): a loop fails fast instead of at 25.
LIMIT = {"recursion_limit": 8}

get_weather = tool(weather_agent.get_weather)


def _agent(base_url: str, response_format: Any) -> Any:
    model = ChatModelsLab(api_key=KEY, base_url=base_url)
    return create_agent(model, tools=[get_weather], response_format=response_format)


def _check(result: dict[str, Any], emulator: Emulator) -> None:
    assert calls == ["Paris"]  # the tool ran once, with the city of the question
    report = result["structured_response"]
    assert isinstance(report, WeatherReport)
    assert report.city == "Paris"
    messages = result["messages"]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert results[0].name == "get_weather" and "sunny, 21C in Paris" in str(results[0].content)
    asked = [c["name"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    assert asked.count("get_weather") == 1
    # One model call for the tool, one for the answer: the loop ended by itself.
    chats = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2


STRATEGIES = [
    pytest.param(WeatherReport, id="default"),
    pytest.param(ToolStrategy(WeatherReport), id="tool-strategy"),
    # json_schema beside the tools: the answer after the tool results is the schema's JSON
    pytest.param(ProviderStrategy(WeatherReport), id="provider-strategy"),
]


@pytest.mark.parametrize("response_format", STRATEGIES)
def test_structured_agent_ends_with_the_schema(
    base_url: str, emulator: Emulator, response_format: Any
) -> None:
    calls.clear()
    result = _agent(base_url, response_format).invoke(
        {"messages": [("user", QUESTION)]}, config=LIMIT
    )
    _check(result, emulator)


@pytest.mark.parametrize("response_format", STRATEGIES)
async def test_structured_agent_async(
    base_url: str, emulator: Emulator, response_format: Any
) -> None:
    calls.clear()
    result = await _agent(base_url, response_format).ainvoke(
        {"messages": [("user", QUESTION)]}, config=LIMIT
    )
    _check(result, emulator)


def test_structured_agent_ends_when_no_tool_is_named(base_url: str, emulator: Emulator) -> None:
    """Forced tool use with no tool named: the first tool runs, then the schema's tool ends it."""
    calls.clear()
    agent = _agent(base_url, ToolStrategy(WeatherReport))
    result = agent.invoke({"messages": [("user", 'A report for "Oslo" at 4 degrees')]}, LIMIT)
    assert calls == ["Oslo"]
    report = result["structured_response"]
    assert isinstance(report, WeatherReport)
    assert report.city == "Oslo" and report.temperature_c == 4
    assert len([r for r in emulator.requests if r.path.endswith("/chat/completions")]) == 2
