"""Neutral stream events -> LlamaIndex ChatResponses carrying the message so far and the delta."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatResponse

from modelslab_transport import (
    ChoiceAccumulator,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
)

from .utils import make_assistant_message, usage_to_dict

__all__ = ["ChatStream"]


class ChatStream:
    """Folds the events of one stream into ChatResponses.

    `feed()` returns a response for every event that changes the message (text, thinking or a
    tool-call fragment) and None for bookkeeping events; `final()` returns the closing response:
    the whole message with `delta=""`, the finish reason and the usage. Only choice 0 is used.
    """

    __slots__ = ("_acc",)

    def __init__(self) -> None:
        # The transport's accumulator keeps running strings: every response carries the whole
        # message so far, and re-joining all pieces on each chunk made long streams quadratic.
        self._acc = ChoiceAccumulator()

    def feed(self, event: StreamEvent) -> ChatResponse | None:
        """Take one event; return the ChatResponse it produces, if any."""
        if not self._acc.feed(event):
            return None
        if isinstance(event, TextDelta):
            return self._response(delta=event.text)
        if isinstance(event, ReasoningDelta):
            return self._response(delta="", thinking_delta=event.text)
        return self._response(delta="")

    def final(self) -> ChatResponse:
        """The closing response: the complete message, finish reason and usage."""
        return self._response(delta="", final=True)

    def _response(
        self, *, delta: str, thinking_delta: str | None = None, final: bool = False
    ) -> ChatResponse:
        acc = self._acc
        usage, start = acc.usage, acc.start
        message = make_assistant_message(
            acc.text,
            acc.reasoning,
            [ToolCall(c.id or "", c.name, c.arguments) for c in acc.tool_calls],
            complete=final,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
        )
        raw: dict[str, Any] = {
            "id": start.id if start else None,
            "object": "chat.completion" if final else "chat.completion.chunk",
            "model": start.model if start else None,
            "created": start.created if start else None,
        }
        additional_kwargs: dict[str, Any] = {}
        if final:
            raw["finish_reason"] = acc.finish_reason
            if acc.reasoning_state is not None:
                raw["reasoning_state"] = additional_kwargs["reasoning_state"] = acc.reasoning_state
            if usage is not None:
                raw["usage"] = dict(usage.raw) if usage.raw else usage_to_dict(usage)
                additional_kwargs.update(usage_to_dict(usage))
        if thinking_delta is not None:
            additional_kwargs["thinking_delta"] = thinking_delta
        return ChatResponse(
            message=message, delta=delta, raw=raw, additional_kwargs=additional_kwargs
        )
