"""Neutral stream events -> LlamaIndex ChatResponses carrying the message so far and the delta."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse

from modelslab_transport import (
    ChoiceAccumulator,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCall,
)

from ._responses import chat_response, text_chunk
from .utils import chat_to_completion_response, make_assistant_message, usage_to_dict

__all__ = ["ChatStream", "TextChunks"]


class ChatStream:
    """Folds the events of one stream into ChatResponses.

    `feed()` returns a response for every event that changes the message (text, thinking or a
    tool-call fragment) and None for bookkeeping events; `final()` returns the closing response:
    the whole message with `delta=""`, the finish reason, the usage and the `max_tokens` sent.
    Only choice 0 is used.
    """

    __slots__ = ("_acc", "_raw", "_start", "_tools")

    def __init__(self) -> None:
        # The transport's accumulator keeps running strings: every response carries the whole
        # message so far, and re-joining all pieces on each chunk made long streams quadratic.
        self._acc = ChoiceAccumulator()
        self._start: StreamStart | None = None
        self._raw: dict[str, Any] = _raw(None, final=False)
        self._tools = False

    def feed(self, event: StreamEvent) -> ChatResponse | None:
        """Take one event; return the ChatResponse it produces, if any."""
        acc = self._acc
        if not acc.feed(event):
            return None
        if acc.start is not self._start:  # the chunks' raw is the same until a start comes
            self._start = acc.start
            self._raw = _raw(acc.start, final=False)
        # Most chunks: text, and the message is the text so far only.
        if isinstance(event, TextDelta) and not self._tools and not acc.reasoning:
            return text_chunk(acc.text, event.text, dict(self._raw))
        additional_kwargs: dict[str, Any] = {}
        if isinstance(event, TextDelta):
            delta = event.text
        elif isinstance(event, ReasoningDelta):
            delta, additional_kwargs["thinking_delta"] = "", event.text
        else:  # a tool-call fragment
            delta, self._tools = "", True
        return chat_response(
            self._message(complete=False), delta, dict(self._raw), additional_kwargs
        )

    def final(self) -> ChatResponse:
        """The closing response: the complete message, finish reason and usage."""
        acc = self._acc
        usage, start = acc.usage, acc.start
        raw = _raw(start, final=True)
        raw["finish_reason"] = acc.finish_reason
        additional_kwargs: dict[str, Any] = {}
        if acc.reasoning_state is not None:
            raw["reasoning_state"] = additional_kwargs["reasoning_state"] = acc.reasoning_state
        if usage is not None:
            raw["usage"] = dict(usage.raw) if usage.raw else usage_to_dict(usage)
            additional_kwargs.update(usage_to_dict(usage))
        if start is not None and start.max_tokens_sent is not None:
            additional_kwargs["max_tokens"] = start.max_tokens_sent
        return chat_response(self._message(complete=True), "", raw, additional_kwargs)

    def _message(self, *, complete: bool) -> ChatMessage:
        acc = self._acc
        usage = acc.usage
        # Reading the calls sorts and copies them: only once a stream has any.
        calls = acc.tool_calls if self._tools else ()
        return make_assistant_message(
            acc.text,
            acc.reasoning,
            [ToolCall(c.id or "", c.name, c.arguments) for c in calls],
            complete=complete,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
        )


def _raw(start: StreamStart | None, *, final: bool) -> dict[str, Any]:
    return {
        "id": start.id if start else None,
        "object": "chat.completion" if final else "chat.completion.chunk",
        "model": start.model if start else None,
        "created": start.created if start else None,
    }


class TextChunks:
    """Turns a chat stream into completion chunks that each carry text (`stream_complete`).

    Thinking and tool-call fragments change no text, so they make no chunk of their own: the
    thinking streamed since the previous chunk rides on the next one as
    `additional_kwargs["thinking_delta"]` (and all of it so far as `"thinking"`). The closing
    response (usage, finish reason, whole message) is folded into the last text chunk, held
    back one step for that, so no chunk has an empty delta unless the model wrote no text.
    """

    __slots__ = ("_held", "_thinking")

    def __init__(self) -> None:
        self._held: tuple[ChatResponse, str] | None = None
        self._thinking: list[str] = []

    def feed(self, response: ChatResponse) -> CompletionResponse | None:
        """Take one chat chunk; return the completion chunk now due, if any."""
        held = self._held
        if (response.raw or {}).get("object") == "chat.completion":  # the closing response
            self._held = None
            thinking = "".join(self._thinking)
            if held is not None:
                response = response.model_copy(update={"delta": held[0].delta})
                thinking = held[1] + thinking
            return _completion(response, thinking)
        if not response.delta:
            thought = response.additional_kwargs.get("thinking_delta")
            if thought:
                self._thinking.append(thought)
            return None
        self._held = (response, "".join(self._thinking))
        self._thinking.clear()
        return None if held is None else _completion(*held)

    def end(self) -> CompletionResponse | None:
        """What is still held when a stream ended without its closing response."""
        held, self._held = self._held, None
        return None if held is None else _completion(*held)


def _completion(response: ChatResponse, thinking: str) -> CompletionResponse:
    completion = chat_to_completion_response(response)
    completion.additional_kwargs.pop("thinking_delta", None)
    if thinking:
        completion.additional_kwargs["thinking_delta"] = thinking
    return completion
