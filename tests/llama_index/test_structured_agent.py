"""LlamaIndex agents with ``output_cls`` over ModelsLabLLM end with the structured output."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support.weather_agent import QUESTION, WeatherReport, calls, get_weather

KEY = "test-key-structured-agent-0123"


def _agent(base_url: str, **kwargs: Any) -> FunctionAgent:
    return FunctionAgent(
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=ModelsLabLLM(api_key=KEY, base_url=base_url),
        system_prompt="You report the weather.",
        **kwargs,
    )


async def _run(workflow: FunctionAgent | AgentWorkflow) -> tuple[Any, list[Any]]:
    calls.clear()
    # LlamaIndex turns a failed structured output into a warning and None: make it fail here.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*structured output.*")
        handler = workflow.run(user_msg=QUESTION)
        events = [event async for event in handler.stream_events()]
        return await handler, events


def _check_tool_ran_once(events: list[Any]) -> None:
    assert calls == ["Paris"]
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [e.tool_name for e in results] == ["get_weather"]


async def test_function_agent_output_cls(base_url: str, emulator: Emulator) -> None:
    result, events = await _run(_agent(base_url, output_cls=WeatherReport))
    _check_tool_ran_once(events)
    report = WeatherReport.model_validate(result.structured_response)
    # LlamaIndex hands the model the whole conversation as XML in one user message; the
    # emulator fills strings from its quoted strings: the tool result, quoted in its answer.
    assert report.city == "sunny, 21C in Paris"
    assert result.get_pydantic_model(WeatherReport) == report
    # The structured output is one forced call of the schema's tool, after the agent's two.
    chats = [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 3
    last = chats[-1]
    offered = [t["function"]["name"] for t in last.get("tools", [])]
    assert offered == ["WeatherReport"] or last.get("response_format")


async def test_agent_workflow_output_cls(base_url: str) -> None:
    workflow = AgentWorkflow(agents=[_agent(base_url)], output_cls=WeatherReport)
    result, events = await _run(workflow)
    _check_tool_ran_once(events)
    assert WeatherReport.model_validate(result.structured_response).city == "sunny, 21C in Paris"


async def test_structured_output_fn_sees_the_tool_result(base_url: str) -> None:
    seen: list[str] = []

    def summarise(messages: list[Any]) -> dict[str, Any]:
        seen.extend(str(m.content) for m in messages)
        return {"city": "Paris", "temperature_c": 21, "summary": "sunny"}

    result, events = await _run(_agent(base_url, structured_output_fn=summarise))
    _check_tool_ran_once(events)
    assert result.structured_response == {"city": "Paris", "temperature_c": 21, "summary": "sunny"}
    assert any("sunny, 21C in Paris" in text for text in seen)


@pytest.mark.parametrize("stream", [False, True])
async def test_structured_predict_over_the_emulator(base_url: str, stream: bool) -> None:
    """What ``output_cls`` uses underneath: the LLM's structured output, sync and async."""
    from llama_index.core.prompts import PromptTemplate

    llm = ModelsLabLLM(api_key=KEY, base_url=base_url)
    prompt = PromptTemplate("A report for {city} at 4 degrees")
    if stream:
        report = await llm.astructured_predict(WeatherReport, prompt, city="Oslo")
    else:
        report = llm.structured_predict(WeatherReport, prompt, city="Oslo")
    assert isinstance(report, WeatherReport)
    assert report.city == "Oslo" and report.temperature_c == 4
