"""Streaming conventions: one tool call when parallel calls are not allowed, and text-only
completion chunks and tokens while Magistral thinks (issue 13, items 9 and 10)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from llama_index.core import Document, SummaryIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCall, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, ToolCallBlock
from llama_index.core.tools import FunctionTool

from llama_index_modelslab import ModelsLabLLM
from llama_index_modelslab.base import _parallel_allowed
from modelslab_emulator import Emulator
from tests.support.models import KEY

ANSWER = "You said: Tell me about Paris"
THOUGHT = "The user wrote 4 words. I will answer plainly. " + " ".join(
    ["Let me check that once more."] * 200
)
PROMPT = 'Call get_weather and get_time for "Rome"'


def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"sunny in {city}"


def get_time(city: str) -> str:
    """Local time of a city."""
    return f"09:00 in {city}"


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(get_time)]


def _calls(response: ChatResponse) -> list[str]:
    return [b.tool_name for b in response.message.blocks if isinstance(b, ToolCallBlock)]


# -- item 9 -------------------------------------------------------------------------------------
# The emulator honours `parallel_tool_calls: false`; a server need not. These clients strip the
# field on its way out (recording what the adapter sent), so the emulator answers with both
# calls and only the adapter can keep the agent to one.


def _strip_parallel(request: httpx.Request, sent: list[Any]) -> httpx.Request:
    body = json.loads(request.read())
    sent.append(body.pop("parallel_tool_calls", "absent"))
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "content-length"]
    return httpx.Request(request.method, request.url, headers=headers, json=body)


class _Strip(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Any] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return super().handle_request(_strip_parallel(request, self.sent))


class _AsyncStrip(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Any] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await super().handle_async_request(_strip_parallel(request, self.sent))


def test_stream_keeps_one_tool_call_unless_parallel_allowed(emulator: Emulator) -> None:
    transport = _Strip()
    with httpx.Client(transport=transport) as client:
        llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, http_client=client)
        both = list(llm.stream_chat_with_tools(TOOLS, PROMPT, allow_parallel_tool_calls=True))
        assert _calls(both[-1]) == ["get_weather", "get_time"]
        one = list(llm.stream_chat_with_tools(TOOLS, PROMPT, allow_parallel_tool_calls=False))
        llm.close()
    assert transport.sent == [True, False]
    assert all(len(_calls(r)) <= 1 for r in one)
    assert [s.tool_name for s in llm.get_tool_calls_from_response(one[-1])] == ["get_weather"]
    assert len(one[-1].message.additional_kwargs.get("tool_calls", [])) <= 1


async def test_astream_keeps_one_tool_call_unless_parallel_allowed(emulator: Emulator) -> None:
    transport = _AsyncStrip()
    async with httpx.AsyncClient(transport=transport) as client:
        llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, async_http_client=client)
        stream = await llm.astream_chat_with_tools(TOOLS, PROMPT, allow_parallel_tool_calls=False)
        one = [r async for r in stream]
        await llm.aclose()
    assert transport.sent == [False]
    assert all(len(_calls(r)) <= 1 for r in one)
    assert _calls(one[-1]) == ["get_weather"]


async def test_function_agent_runs_one_call_per_turn_without_parallel_calls(
    emulator: Emulator,
) -> None:
    transport = _AsyncStrip()
    async with httpx.AsyncClient(transport=transport) as client:
        llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, async_http_client=client)
        agent = FunctionAgent(tools=TOOLS, llm=llm, allow_parallel_tool_calls=False)
        handler = agent.run(user_msg=PROMPT)
        events = [event async for event in handler.stream_events()]
        await handler
        await llm.aclose()
    assert transport.sent and all(sent is False for sent in transport.sent)
    calls = [e.tool_name for e in events if isinstance(e, ToolCall)]
    assert calls and calls[0] == "get_weather"
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert len(results) == len(calls) == len(emulator.requests) - 1  # one call per turn
    for request in emulator.requests[1:]:
        assistant = [m for m in request.body["messages"] if m["role"] == "assistant"]
        assert all(len(m.get("tool_calls") or []) <= 1 for m in assistant)


# -- item 10 ------------------------------------------------------------------------------------


def test_stream_complete_yields_text_deltas_only(llm: ModelsLabLLM) -> None:
    chunks = list(llm.stream_complete("Tell me about Paris"))
    assert sum(1 for c in chunks if not c.delta) == 0  # none while Magistral thinks at length
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text == ANSWER
    # the reasoning travels as thinking: on the text chunks, never in the text
    assert "".join(c.additional_kwargs.get("thinking_delta", "") for c in chunks) == THOUGHT
    assert chunks[-1].additional_kwargs["thinking"] == THOUGHT
    assert chunks[-1].additional_kwargs["total_tokens"] > 0  # the closing usage is kept


async def test_astream_complete_yields_text_deltas_only(llm: ModelsLabLLM) -> None:
    chunks = [c async for c in await llm.astream_complete("Tell me about Paris")]
    assert sum(1 for c in chunks if not c.delta) == 0
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text == ANSWER
    assert "".join(c.additional_kwargs.get("thinking_delta", "") for c in chunks) == THOUGHT


def test_stream_chat_still_streams_thinking_for_agents(llm: ModelsLabLLM) -> None:
    # Chat streams keep their thinking chunks (FunctionAgent's AgentStream.thinking_delta).
    chunks = list(llm.stream_chat(_user("Tell me about Paris")))
    assert "".join(c.additional_kwargs.get("thinking_delta", "") for c in chunks) == THOUGHT


def _user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


def _engine(llm: ModelsLabLLM) -> object:
    index = SummaryIndex.from_documents([Document(text="The Zorblax reactor was built in 2041.")])
    return index.as_query_engine(llm=llm, streaming=True)


def test_query_engine_response_gen_has_no_empty_tokens(llm: ModelsLabLLM) -> None:
    streamed = _engine(llm).query("When was the Zorblax reactor built?")  # type: ignore[attr-defined]
    tokens = list(streamed.response_gen)
    assert tokens and all(tokens)
    assert "<think>" not in "".join(tokens)


async def test_async_query_engine_response_gen_has_no_empty_tokens(llm: ModelsLabLLM) -> None:
    streamed = await _engine(llm).aquery("When was the Zorblax reactor built?")  # type: ignore[attr-defined]
    tokens = [t async for t in streamed.async_response_gen()]
    assert tokens and all(tokens)


def test_the_parallel_flag_is_read_however_it_is_passed() -> None:
    # stream_chat_with_tools passes FunctionCallingLLM's arguments on as given.
    assert _parallel_allowed(PROMPT, None, False, True)
    assert _parallel_allowed(PROMPT, allow_parallel_tool_calls=True, tool_required=True)
    assert not _parallel_allowed(PROMPT, None, False)
    assert not _parallel_allowed(user_msg=PROMPT, tool_required=True, tool_choice="auto")
