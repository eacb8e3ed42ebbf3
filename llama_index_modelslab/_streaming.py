"""Neutral stream events -> LlamaIndex ChatResponses carrying the message so far and the delta."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatResponse

from modelslab_transport import (
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

from .utils import make_assistant_message, usage_to_dict

__all__ = ["ChatStream"]


class ChatStream:
    """Folds the events of one stream into ChatResponses.

    `feed()` returns a response for every event that changes the message (text, thinking or a
    tool-call fragment) and None for bookkeeping events; `final()` returns the closing response:
    the whole message with `delta=""`, the finish reason and the usage. Only choice 0 is used.
    """

    def __init__(self) -> None:
        # Running strings, not lists joined per chunk: every response carries the whole message
        # so far, and re-joining all pieces on each chunk made long streams quadratic.
        self._text = ""
        self._reasoning = ""
        self._calls: dict[int, list[Any]] = {}  # index -> [id, name, arguments so far]
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._finish_reason: str | None = None
        self._reasoning_state: str | None = None
        self._usage: Usage | None = None

    def feed(self, event: StreamEvent) -> ChatResponse | None:
        """Take one event; return the ChatResponse it produces, if any."""
        if isinstance(event, TextDelta):
            if event.choice != 0 or not event.text:
                return None
            self._text += event.text
            return self._response(delta=event.text)
        if isinstance(event, ReasoningDelta):
            if event.choice != 0 or not event.text:
                return None
            self._reasoning += event.text
            return self._response(delta="", thinking_delta=event.text)
        if isinstance(event, ToolCallDelta):
            if event.choice != 0:
                return None
            call = self._calls.setdefault(event.index, [None, None, ""])
            if event.id:
                call[0] = event.id
            if event.name:
                call[1] = event.name
            if event.arguments:
                call[2] += event.arguments
            return self._response(delta="")
        if isinstance(event, StreamStart):
            self._id, self._model, self._created = event.id, event.model, event.created
        elif isinstance(event, FinishEvent):
            if event.choice == 0:
                self._finish_reason = event.finish_reason
                self._reasoning_state = event.reasoning_state
        elif isinstance(event, UsageEvent):
            self._usage = event.usage
        return None

    def final(self) -> ChatResponse:
        """The closing response: the complete message, finish reason and usage."""
        return self._response(delta="", final=True)

    def _tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(id=call[0] or "", name=call[1] or "", arguments=call[2])
            for _, call in sorted(self._calls.items())
        ]

    def _response(
        self, *, delta: str, thinking_delta: str | None = None, final: bool = False
    ) -> ChatResponse:
        usage = self._usage
        message = make_assistant_message(
            self._text,
            self._reasoning,
            self._tool_calls(),
            complete=final,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
        )
        raw: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion" if final else "chat.completion.chunk",
            "model": self._model,
            "created": self._created,
        }
        additional_kwargs: dict[str, Any] = {}
        if final:
            raw["finish_reason"] = self._finish_reason
            if self._reasoning_state is not None:
                raw["reasoning_state"] = additional_kwargs["reasoning_state"] = (
                    self._reasoning_state
                )
            if usage is not None:
                raw["usage"] = dict(usage.raw) if usage.raw else usage_to_dict(usage)
                additional_kwargs.update(usage_to_dict(usage))
        if thinking_delta is not None:
            additional_kwargs["thinking_delta"] = thinking_delta
        return ChatResponse(
            message=message, delta=delta, raw=raw, additional_kwargs=additional_kwargs
        )
