"""LlamaIndex observability sees the `max_tokens` sent, defaulted or not, on every call path.

An Arize-style pair attached to the root dispatcher: a span handler opens a record per
ModelsLabLLM call, an event handler fills it from the call's end event. Each recorded value
must equal the `max_tokens` in the body the emulator received (after a resize retry, the
second body's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMCompletionEndEvent
from llama_index.core.instrumentation.span import SimpleSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index.core.tools import FunctionTool
from pydantic import Field

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import default_max_tokens
from tests.support.models import MakeLLM
from tests.support.scenarios import unique

MAGISTRAL = "mistralai-Magistral-Small-2506"
PROMPT = "Tell me about Paris"
USER = [ChatMessage(role=MessageRole.USER, content=PROMPT)]
CHAT_MODES = ["chat", "achat", "stream_chat", "astream_chat"]
COMPLETION_MODES = ["complete", "acomplete", "stream_complete", "astream_complete"]
TOOL_MODES = ["chat_with_tools", "astream_chat_with_tools"]


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


WEATHER = FunctionTool.from_defaults(fn=get_weather)


class _Spans(BaseSpanHandler[SimpleSpan]):
    """A record per ModelsLabLLM call (method name, then what the event handler adds), and
    what a non-streamed call returned."""

    records: dict[str, dict[str, Any]] = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict)

    # LlamaIndex's span handler passes every argument by keyword: each method reads its own.
    def new_span(self, id_: str, **kwargs: Any) -> SimpleSpan:
        if isinstance(kwargs.get("instance"), ModelsLabLLM):
            self.records[id_] = {"method": id_.partition("-")[0].rpartition(".")[2]}
        return SimpleSpan(id_=id_, parent_id=kwargs.get("parent_span_id"))

    def prepare_to_exit_span(self, id_: str, **kwargs: Any) -> SimpleSpan | None:
        if id_ in self.records:
            self.results[id_] = kwargs.get("result")
        return self.open_spans.get(id_)

    def prepare_to_drop_span(self, id_: str, **kwargs: Any) -> SimpleSpan | None:
        return self.open_spans.get(id_)


class _EndEvents(BaseEventHandler):
    """Copies the end event's `max_tokens` into the record of the span it belongs to."""

    spans: _Spans

    @classmethod
    def class_name(cls) -> str:
        return "_EndEvents"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent)) and event.response:
            record = self.spans.records.get(event.span_id or "")
            if record is not None:
                record["max_tokens"] = event.response.additional_kwargs.get("max_tokens")


@pytest.fixture
def traced() -> Iterator[_Spans]:
    spans = _Spans()
    events = _EndEvents(spans=spans)
    root = get_dispatcher()
    root.add_span_handler(spans)
    root.add_event_handler(events)
    try:
        yield spans
    finally:
        root.span_handlers.remove(spans)
        root.event_handlers.remove(events)


def call(llm: ModelsLabLLM, mode: str) -> None:
    """One call through `mode`, consumed to its end."""

    async def go() -> None:
        if mode == "achat":
            await llm.achat(USER)
        elif mode == "acomplete":
            await llm.acomplete(PROMPT)
        elif mode == "astream_chat":
            [r async for r in await llm.astream_chat(USER)]
        elif mode == "astream_complete":
            [r async for r in await llm.astream_complete(PROMPT)]
        else:
            [r async for r in await llm.astream_chat_with_tools([WEATHER], PROMPT)]

    if mode == "chat":
        llm.chat(USER)
    elif mode == "complete":
        llm.complete(PROMPT)
    elif mode == "stream_chat":
        list(llm.stream_chat(USER))
    elif mode == "stream_complete":
        list(llm.stream_complete(PROMPT))
    elif mode == "chat_with_tools":
        llm.chat_with_tools([WEATHER], PROMPT)
    else:
        asyncio.run(go())


def bodies(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]


def the_model_call(spans: _Spans) -> tuple[str, dict[str, Any]]:
    """The one ModelsLabLLM span that made the request (chat_with_tools spans chat within)."""
    called = [(id_, r) for id_, r in spans.records.items() if "max_tokens" in r]
    assert len(called) == 1, spans.records
    return called[0]


@pytest.mark.parametrize("max_tokens", [None, 777], ids=["defaulted", "explicit"])
@pytest.mark.parametrize("mode", CHAT_MODES + COMPLETION_MODES + TOOL_MODES)
def test_end_event_carries_the_max_tokens_sent(
    make_llm: MakeLLM, emulator: Emulator, traced: _Spans, mode: str, max_tokens: int | None
) -> None:
    call(make_llm(max_tokens=max_tokens), mode)
    [body] = bodies(emulator)
    span_id, record = the_model_call(traced)
    assert record["max_tokens"] == body["max_tokens"]
    if max_tokens is None:
        prompt = [{"role": "user", "content": PROMPT}]
        tools = body.get("tools")
        assert body["max_tokens"] == default_max_tokens(MAGISTRAL, prompt, tools) > 1000
    else:
        assert body["max_tokens"] == 777
    result = traced.results[span_id]
    if isinstance(result, (ChatResponse, CompletionResponse)):
        # A non-streamed call: the span handler sees it on the result as well.
        assert result.additional_kwargs["max_tokens"] == body["max_tokens"]


@pytest.mark.parametrize("mode", [*CHAT_MODES, "stream_complete"])
def test_after_a_resize_retry_the_second_body_is_recorded(
    make_llm: MakeLLM, emulator: Emulator, traced: _Spans, mode: str
) -> None:
    scenario = unique("served-context;tokens=3000")
    call(make_llm(default_headers={"X-Emulator-Scenario": scenario}), mode)
    first, second = bodies(emulator)
    assert second["max_tokens"] < first["max_tokens"]  # refused, then resent smaller
    assert the_model_call(traced)[1]["max_tokens"] == second["max_tokens"]


def test_a_per_call_max_tokens_wins_in_the_trace(
    make_llm: MakeLLM, emulator: Emulator, traced: _Spans
) -> None:
    make_llm(max_tokens=500).chat(USER, max_tokens=64)
    [body] = bodies(emulator)
    assert body["max_tokens"] == 64 == the_model_call(traced)[1]["max_tokens"]


async def test_legacy_callback_manager_sees_it_in_the_llm_end_payload(
    make_llm: MakeLLM, emulator: Emulator
) -> None:
    debug = LlamaDebugHandler()
    llm = make_llm(callback_manager=CallbackManager([debug]))
    llm.chat(USER)
    [r async for r in await llm.astream_complete(PROMPT)]
    responses = [
        end.payload.get(EventPayload.RESPONSE) or end.payload.get(EventPayload.COMPLETION)
        for _, end in debug.get_event_pairs(CBEventType.LLM)
    ]
    recorded = [response.additional_kwargs["max_tokens"] for response in responses]
    assert recorded == [body["max_tokens"] for body in bodies(emulator)]
    assert len(recorded) == 2
