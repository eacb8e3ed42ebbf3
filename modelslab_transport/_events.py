"""Neutral, framework-free results: stream events and whole completions.

Both adapters turn these into their own types; nothing here knows LangChain or LlamaIndex.
Events are slotted dataclasses, cheap enough to build once per streamed chunk. The
accumulators at the end fold a stream's events back into a message, for both adapters.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """First event of every stream: the completion's id and model, once known.

    `max_tokens_sent` is the `max_tokens` of the request this stream answers (the default
    filled in, or the smaller one of a resize retry), when a client sent it: what traces record.
    """

    id: str | None
    model: str | None
    created: int | None = None
    max_tokens_sent: int | None = field(default=None, compare=False, repr=False)


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
    """A whole chat completion, from a plain response or an assembled stream.

    `max_tokens_sent`: the `max_tokens` of the request that produced it (see `StreamStart`).
    """

    id: str | None = None
    model: str | None = None
    created: int | None = None
    choices: list[Choice] = field(default_factory=list)
    usage: Usage | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    max_tokens_sent: int | None = field(default=None, compare=False, repr=False)

    @property
    def first(self) -> Choice:
        """The first choice (the only one unless `n` > 1)."""
        return self.choices[0] if self.choices else Choice()


@dataclass(slots=True)
class PartialToolCall:
    """A tool call as far as a stream has sent it: `arguments` grows fragment by fragment."""

    id: str | None
    name: str
    arguments: str


class ChoiceAccumulator:
    """One choice of a stream so far, kept as running strings.

    Both adapters fold events through this: LlamaIndex needs the whole message so far on
    every chunk, so text and reasoning are running strings rather than pieces joined per chunk.
    `feed` returns True when the event changed the message (text, reasoning or a tool-call
    fragment of this choice); the stream's start and usage are kept whichever choice it is.

    >>> acc = ChoiceAccumulator()
    >>> [acc.feed(e) for e in (StreamStart("gen-1", "m"), TextDelta("Hi"), FinishEvent("stop"))]
    [False, True, False]
    >>> acc.text, acc.finish_reason
    ('Hi', 'stop')
    """

    __slots__ = (
        "_calls",
        "choice",
        "finish_reason",
        "reasoning",
        "reasoning_state",
        "start",
        "text",
        "usage",
    )

    def __init__(self, choice: int = 0) -> None:
        self.choice = choice
        self.text = ""
        self.reasoning = ""
        self._calls: dict[int, PartialToolCall] = {}
        self.finish_reason: str | None = None
        self.reasoning_state: str | None = None
        self.start: StreamStart | None = None
        self.usage: Usage | None = None

    @property
    def tool_calls(self) -> list[PartialToolCall]:
        """The calls so far, by their stream index."""
        calls = self._calls
        return [calls[index] for index in sorted(calls)] if len(calls) > 1 else [*calls.values()]

    def feed(self, event: StreamEvent) -> bool:
        """Take one event, in stream order; True if it changed this choice's message."""
        if isinstance(event, TextDelta):
            if event.choice != self.choice or not event.text:
                return False
            self.text += event.text
            return True
        if isinstance(event, ReasoningDelta):
            if event.choice != self.choice or not event.text:
                return False
            self.reasoning += event.text
            return True
        if isinstance(event, ToolCallDelta):
            if event.choice != self.choice:
                return False
            call = self._calls.get(event.index)
            if call is None:
                self._calls[event.index] = PartialToolCall(
                    event.id, event.name or "", event.arguments
                )
            else:
                if event.id:
                    call.id = event.id
                if event.name:
                    call.name = event.name
                if event.arguments:
                    call.arguments += event.arguments
            return True
        if isinstance(event, FinishEvent):
            if event.choice == self.choice:
                self.finish_reason = event.finish_reason
                self.reasoning_state = event.reasoning_state
        elif isinstance(event, StreamStart):
            if self.start is None:
                self.start = event
        else:
            self.usage = event.usage
        return False

    def result(self) -> Choice:
        """This choice assembled so far (empty tool-call arguments become "{}")."""
        return Choice(
            index=self.choice,
            content=self.text,
            reasoning=self.reasoning,
            tool_calls=[
                ToolCall(id=call.id or "", name=call.name, arguments=call.arguments or "{}")
                for call in self.tool_calls
            ],
            finish_reason=self.finish_reason,
            reasoning_state=self.reasoning_state,
        )


class StreamAccumulator:
    """Collect stream events into one `ChatCompletion`, a `ChoiceAccumulator` per choice.

    >>> acc = StreamAccumulator()
    >>> for event in [TextDelta("Par"), TextDelta("is."), FinishEvent("stop")]:
    ...     acc.add(event)
    >>> acc.result().first.content
    'Paris.'
    """

    __slots__ = ("_choices", "_start", "_usage")

    def __init__(self) -> None:
        self._start: StreamStart | None = None
        self._choices: dict[int, ChoiceAccumulator] = {}
        self._usage: Usage | None = None

    def add(self, event: StreamEvent) -> None:
        """Take one event, in stream order."""
        if isinstance(event, StreamStart):
            self._start = self._start or event
            return
        if isinstance(event, UsageEvent):
            self._usage = event.usage
            return
        choice = self._choices.get(event.choice)
        if choice is None:
            choice = self._choices[event.choice] = ChoiceAccumulator(event.choice)
        choice.feed(event)

    def result(self) -> ChatCompletion:
        """The completion assembled so far."""
        start = self._start
        return ChatCompletion(
            id=start.id if start else None,
            model=start.model if start else None,
            created=start.created if start else None,
            choices=[choice.result() for _, choice in sorted(self._choices.items())],
            usage=self._usage,
            max_tokens_sent=start.max_tokens_sent if start else None,
        )


def accumulate(events: Iterable[StreamEvent]) -> ChatCompletion:
    """A whole `ChatCompletion` from a sequence of stream events."""
    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    return accumulator.result()
