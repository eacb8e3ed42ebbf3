"""ChatModelsLab inside LangChain: an LCEL chain and agents running against the emulator."""

from __future__ import annotations

import sys
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator

KEY = "test-key-agents-0123"

calls: list[str] = []


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    calls.append(f"get_weather({city})")
    return f"sunny, 21C in {city}"


@tool
def get_time(city: str) -> str:
    """Local time in a city."""
    calls.append(f"get_time({city})")
    return f"09:00 in {city}"


TASK = 'Use get_weather and get_time for "Lisbon", then summarise.'


def _check_transcript(messages: list[Any]) -> None:
    ai_calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert [c["name"] for m in ai_calls for c in m.tool_calls] == ["get_weather", "get_time"]
    assert {r.tool_call_id for r in results} == {c["id"] for m in ai_calls for c in m.tool_calls}
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "sunny, 21C in Lisbon" in final.text and "09:00 in Lisbon" in final.text
    # The answer is text only; the model's thinking stays out of it.
    assert "<think>" not in final.text and "I have 2 tool results" not in final.text


def test_lcel_chain_prompt_model_parser(base_url: str) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "Translate {word} to French")]
    )
    chain = prompt | ChatModelsLab(api_key=KEY, base_url=base_url) | StrOutputParser()
    assert chain.invoke({"word": "cat"}) == "You said: Translate cat to French"
    assert "".join(chain.stream({"word": "dog"})) == "You said: Translate dog to French"
    assert chain.batch([{"word": "a"}, {"word": "b"}]) == [
        "You said: Translate a to French",
        "You said: Translate b to French",
    ]


async def test_lcel_chain_async(base_url: str) -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "Say {thing}")])
    chain = prompt | ChatModelsLab(api_key=KEY, base_url=base_url) | StrOutputParser()
    assert await chain.ainvoke({"thing": "hi"}) == "You said: Say hi"
    parts = [p async for p in chain.astream({"thing": "bye"})]
    assert len(parts) > 1 and "".join(parts) == "You said: Say bye"


def test_create_agent_two_tool_task(base_url: str, emulator: Emulator) -> None:
    calls.clear()
    agent = create_agent(
        ChatModelsLab(api_key=KEY, base_url=base_url),
        tools=[get_weather, get_time],
        system_prompt="Answer with the tools' results.",
    )
    state = agent.invoke({"messages": [HumanMessage(TASK)]})
    _check_transcript(state["messages"])
    assert sorted(calls) == ["get_time(Lisbon)", "get_weather(Lisbon)"]  # run concurrently
    # Two model calls: one asking for both tools, one answering with their results.
    chat_calls = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(chat_calls) == 2
    second = chat_calls[1].body["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool", "tool"]


async def test_agent_async_and_token_streaming(base_url: str) -> None:
    agent = create_agent(ChatModelsLab(api_key=KEY, base_url=base_url), [get_weather, get_time])
    state = await agent.ainvoke({"messages": [HumanMessage(TASK)]})
    _check_transcript(state["messages"])
    tokens = [
        chunk
        async for chunk, _meta in agent.astream(
            {"messages": [HumanMessage(TASK)]}, stream_mode="messages"
        )
    ]
    if sys.version_info >= (3, 11):
        assert any(getattr(t, "tool_call_chunks", None) for t in tokens)
    else:
        # Before 3.11 asyncio tasks cannot carry the callback context, so LangGraph's async
        # "messages" mode sees whole messages rather than tokens; the calls must still be there.
        assert any(getattr(t, "tool_calls", None) for t in tokens)


def test_agent_streams_tokens_sync(base_url: str) -> None:
    agent = create_agent(ChatModelsLab(api_key=KEY, base_url=base_url), [get_weather, get_time])
    tokens = [
        chunk
        for chunk, _meta in agent.stream({"messages": [HumanMessage(TASK)]}, stream_mode="messages")
    ]
    assert any(getattr(t, "tool_call_chunks", None) for t in tokens)
    assert sum(1 for t in tokens if getattr(t, "content", None)) > 3  # the answer, token by token
