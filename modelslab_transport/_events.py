"""Neutral, framework-free results: stream events and whole completions.

Both adapters turn these into their own types; nothing here knows LangChain or LlamaIndex.
Events are slotted dataclasses, cheap enough to build once per streamed chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, frozen=True)
class Usage:
    """Token counts for one completion, as ModelsLab reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(slots=True, frozen=True)
class StreamStart:
    """First event of every stream: the completion's id and model, once known."""

    id: str | None
    model: str | None
    created: int | None = None


@dataclass(slots=True, frozen=True)
class TextDelta:
    """A piece of answer text (never reasoning) for choice `choice`."""

    text: str
    choice: int = 0


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    """A piece of reasoning ("thinking") text for choice `choice`."""

    text: str
    choice: int = 0


@dataclass(slots=True, frozen=True)
class ToolCallDelta:
    """A fragment of one tool call.

    `index` is the call's stable position within the message (0, 1, ...). `id` and `name` are
    set on the first fragment of each call and None on later ones; `arguments` is a piece of
    the JSON arguments string, to be concatenated in order.
    """

    index: int
    id: str | None
    name: str | None
    arguments: str
    choice: int = 0


@dataclass(slots=True, frozen=True)
class UsageEvent:
    """Token usage; emitted at most once per stream, after every other content event."""

    usage: Usage


@dataclass(slots=True, frozen=True)
class FinishEvent:
    """The finish reason of choice `choice` (`stop`, `length`, `tool_calls`, ...).

    `reasoning_state` is `"cut"` when the answer was cut (finish `length`) while the model was
    still reasoning, `"unterminated"` when it stopped inside a `<think>` that never closed (the
    block's text was then also sent as answer text), else None.
    """

    finish_reason: str | None
    choice: int = 0
    reasoning_state: str | None = None


StreamEvent = StreamStart | TextDelta | ReasoningDelta | ToolCallDelta | UsageEvent | FinishEvent


@dataclass(slots=True)
class ToolCall:
    """One complete tool call: `arguments` is the raw JSON string the model produced."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Choice:
    """One assembled answer: text and reasoning kept apart, tool calls complete."""

    index: int = 0
    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    #: `"cut"`, `"unterminated"` or None: see `FinishEvent.reasoning_state`.
    reasoning_state: str | None = None


@dataclass(slots=True)
class ChatCompletion:
    """A whole chat completion, from a plain response or an assembled stream."""

    id: str | None = None
    model: str | None = None
    created: int | None = None
    choices: list[Choice] = field(default_factory=list)
    usage: Usage | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def first(self) -> Choice:
        """The first choice (the only one unless `n` > 1)."""
        return self.choices[0] if self.choices else Choice()
