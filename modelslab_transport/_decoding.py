"""Decode ModelsLab's answers into neutral values: a whole chat completion into a
`ChatCompletion`, the SSE `data:` payloads of a chat stream into events.

Written once for both adapters and both shapes, so a streamed and a plain answer are read by
the same rules: text and reasoning (from `reasoning_content`, `reasoning`, thinking blocks and
inline `<think>` tags), assembled tool calls, finish reasons, usage, and typed errors for error
events, non-JSON data and truncated streams. Per chunk this is plain dict access: no regex, no
pydantic.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._errors import ModelsLabError, UnexpectedResponseError, scrub
from ._events import (
    ChatCompletion,
    Choice,
    ChoiceAccumulator,
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    Usage,
    UsageEvent,
)
from ._failures import (
    error_from_payload,
    failed_mid_answer,
    loads,
    provider_failed,
    stream_ended_early,
)
from ._reasoning import (
    REASONING_UNTERMINATED,
    ThinkSplitter,
    content_parts,
    log_reasoning_state,
    reasoning_fields,
    reasoning_state,
    template_opened,
)
from ._tool_calls import ToolCallAssembler, message_tool_calls

__all__ = [
    "StreamDecoder",
    "completion_from",
    "parse_completion",
    "parse_usage",
]


def parse_completion(
    body: object, *, secret: str | None = None, model: str | None = None
) -> ChatCompletion:
    """The `ChatCompletion` in a decoded JSON body; raises the typed error for an error body.

    `model` (the requested id; else the body's `model`) tells, from the catalogue, whether the
    model's chat template opens `<think>` itself; content with only `</think>` is read that way
    for any model.

    >>> completion = parse_completion({
    ...     "id": "gen-1", "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
    ...     "message": {"role": "assistant", "content": "<think>Hmm.</think> Paris."}}]})
    >>> completion.first.content, completion.first.reasoning
    ('Paris.', 'Hmm.')
    """
    error = error_from_payload(body, status=None, secret=secret)
    if error is not None:
        raise error
    return completion_from(body, model)


def completion_from(body: object, model: str | None = None) -> ChatCompletion:
    """`parse_completion` for a body `check_answer` has already checked for an error."""
    if not isinstance(body, dict):
        raise UnexpectedResponseError(
            f"ModelsLab answered with a JSON {type(body).__name__}, not a chat completion object"
        )
    raw_choices = body.get("choices")
    if raw_choices is None:
        raw_choices = _success_message(body)
    if not isinstance(raw_choices, list):
        keys = ", ".join(sorted(str(key) for key in body)[:10]) or "none"
        raise UnexpectedResponseError(
            f"ModelsLab's response has no `choices` list, so it is not a chat completion "
            f"(keys: {keys})",
            body=body,
        )
    completion_id, served = body.get("id"), body.get("model")
    completion_id = completion_id if isinstance(completion_id, str) else None
    served = served if isinstance(served, str) else None
    # Read by the stream's own per-choice rules: one decoder, its choice state and accumulator.
    decoder = StreamDecoder(model=model or served)
    decoder._salt = completion_id or ""
    choices = [
        decoder._whole_choice(choice, position)
        for position, choice in enumerate(raw_choices)
        if isinstance(choice, dict)
    ]
    if choices and choices[0].finish_reason == "error":
        # A gateway's provider failure: what the message holds is not a complete answer.
        error = provider_failed("ModelsLab's answer", body=body)
        error.partial_text, error.partial_reasoning = choices[0].content, choices[0].reasoning
        raise error
    usage = body.get("usage")
    return ChatCompletion(
        id=completion_id,
        model=served,
        created=_int_or_none(body.get("created")),
        choices=choices,
        usage=parse_usage(usage) if isinstance(usage, dict) else None,
        raw=body,
    )


def _success_message(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`{"status": "success", "message": "<text>"}` (an older v7 reply) as one finished choice."""
    state, text = body.get("status"), body.get("message")
    if not (isinstance(state, str) and state.lower() == "success" and isinstance(text, str)):
        return None
    return [{"index": 0, "finish_reason": "stop", "message": {"content": text}}]


def parse_usage(usage: dict[str, Any]) -> Usage:
    """`Usage` from an OpenAI-style usage dict (Anthropic-style names are accepted too)."""
    prompt = _int_or_none(usage.get("prompt_tokens"))
    if prompt is None:
        prompt = _int_or_none(usage.get("input_tokens"))
    completion = _int_or_none(usage.get("completion_tokens"))
    if completion is None:
        completion = _int_or_none(usage.get("output_tokens"))
    total = _int_or_none(usage.get("total_tokens"))
    if total is None:
        total = (prompt or 0) + (completion or 0)
    completion_details = usage.get("completion_tokens_details")
    prompt_details = usage.get("prompt_tokens_details")
    reasoning = _int_or_none(
        completion_details.get("reasoning_tokens")
        if isinstance(completion_details, dict)
        else usage.get("reasoning_tokens")
    )
    cached = _int_or_none(
        prompt_details.get("cached_tokens")
        if isinstance(prompt_details, dict)
        else usage.get("cached_tokens")
    )
    return Usage(
        prompt_tokens=prompt or 0,
        completion_tokens=completion or 0,
        total_tokens=total,
        reasoning_tokens=reasoning,
        cached_tokens=cached,
        raw=usage,
    )


def _int_or_none(value: object) -> int | None:
    if type(value) is int:  # the usual count, first
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


# -- streams ------------------------------------------------------------------------------------

_SNIPPET = 200
_PLAIN = {"role", "content"}  # a whole answer's message with nothing but text
_E = TypeVar("_E", bound=ModelsLabError)


class _ChoiceState:
    __slots__ = ("answered", "called", "finished", "said", "splitter", "thought", "tools")

    def __init__(self, index: int, salt: str, opened: bool) -> None:
        self.splitter = ThinkSplitter(opened=opened)
        self.tools = ToolCallAssembler(index, salt=salt)
        self.finished = False
        # What the choice produced, for judging a cut or unterminated reasoning at the finish.
        self.answered = self.called = False
        # Its text and reasoning so far: an error's partial output (see `StreamDecoder.fail`).
        self.said: list[str] = []
        self.thought: list[str] = []

    @property
    def reasoned(self) -> bool:
        return bool(self.thought)

    def emit(self, answer: str, reasoning: str, index: int, events: list[StreamEvent]) -> None:
        """The reasoning, then the answer, as events; noted here."""
        if reasoning:
            events.append(ReasoningDelta(reasoning, index))
            self.thought.append(reasoning)
        if answer:
            events.append(TextDelta(answer, index))
            self.said.append(answer)
            self.answered = True


class StreamDecoder:
    """Decode one chat stream, payload by payload.

    `model` (the requested id) selects how inline reasoning is read: a model whose chat
    template opens `<think>` itself (catalogue style `template_opened`) streams reasoning up to
    a lone `</think>`. Without it, the first chunk's `model` is looked up. `max_tokens_sent`
    (the request's, from the client) is carried on the `StreamStart`.

    >>> decoder = StreamDecoder()
    >>> decoder.feed('{"id": "gen-1", "model": "m", "choices": [{"index": 0, '
    ...              '"delta": {"content": "Hi"}, "finish_reason": "stop"}]}')
    [StreamStart(id='gen-1', model='m', created=None), TextDelta(text='Hi', choice=0), \
FinishEvent(finish_reason='stop', choice=0, reasoning_state=None)]
    >>> decoder.feed("[DONE]"), decoder.close()
    ([], [])
    """

    __slots__ = (
        "_choices",
        "_closed",
        "_done",
        "_failed",
        "_finished",
        "_model",
        "_opened",
        "_salt",
        "_secret",
        "_sent",
        "_started",
        "_usage",
    )

    def __init__(
        self,
        secret: str | None = None,
        *,
        model: str | None = None,
        max_tokens_sent: int | None = None,
    ) -> None:
        self._secret = secret
        self._model = model
        self._sent = max_tokens_sent
        self._opened = template_opened(model)
        self._choices: dict[int, _ChoiceState] = {}
        self._started = False
        self._done = False
        self._finished = False  # some choice has reported a finish reason
        # The partial output when a choice first finished with `error` (then raised).
        self._failed: tuple[str, str] | None = None
        self._closed = False
        self._salt = ""
        self._usage: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        """True once the stream sent `[DONE]`."""
        return self._done

    def feed(self, data: str) -> list[StreamEvent]:
        """Decode one `data:` payload; raises the typed error if it is an error event."""
        if data == "[DONE]" or (len(data) < 16 and data.strip() == "[DONE]"):
            self._done = True
            return []
        try:
            chunk = loads(data)
        except (ValueError, RecursionError):
            if not data.strip():
                return []  # an event without data (e.g. a named keep-alive)
            snippet = scrub(data, self._secret)
            if len(snippet) > _SNIPPET:
                snippet = snippet[:_SNIPPET] + "…"
            raise UnexpectedResponseError(f"The stream sent non-JSON data: {snippet!r}") from None
        if not isinstance(chunk, dict):
            raise UnexpectedResponseError(
                f"The stream sent a JSON {type(chunk).__name__} where a chunk object was expected"
            )
        # Only these keys make a chunk an error (`object: error` is vLLM's error event).
        if "error" in chunk or "status" in chunk or chunk.get("object") == "error":
            error = error_from_payload(chunk, status=None, secret=self._secret)
            if error is not None:
                raise self.fail(failed_mid_answer(error) if self._started else error)
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            chunk_id = chunk.get("id")
            self._salt = chunk_id if isinstance(chunk_id, str) else ""
            start = _start(chunk, self._sent)
            if self._model is None and start.model is not None:
                self._model = start.model
                self._opened = template_opened(start.model)
            events.append(start)
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for position, choice in enumerate(choices):
                if isinstance(choice, dict):
                    self._choice(choice, position, events)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage  # the last one wins
        if self._failed is not None:
            # A gateway's way of saying the provider failed mid-answer, with no error object:
            # the text so far is not an answer.
            error = provider_failed("The stream")
            error.partial_text, error.partial_reasoning = self._failed
            raise error
        return events

    def fail(self, error: _E) -> _E:
        """`error` with the partial output received so far attached (see `ModelsLabError`)."""
        error.partial_text, error.partial_reasoning = self._partial()
        return error

    def _partial(self) -> tuple[str, str]:
        first = self._choices.get(0)  # the first choice's text and reasoning so far
        return ("".join(first.said), "".join(first.thought)) if first else ("", "")

    def close(self) -> list[StreamEvent]:
        """End of stream: flush held text; raises `IncompleteStreamError` if it was cut short."""
        if self._closed:
            return []
        self._closed = True
        if not self._done and not self._finished:
            raise self.fail(stream_ended_early("unfinished"))
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            events.append(StreamStart(None, None, None, self._sent))
        for index, state in self._choices.items():
            if not state.finished:
                verdict = self._flush(state, index, None, events)
                if verdict is not None:  # ended without a finish reason: say it all the same
                    events.append(FinishEvent(None, index, verdict))
        if self._usage is not None:
            events.append(UsageEvent(parse_usage(self._usage)))
        return events

    def _choice(self, choice: dict[str, Any], position: int, events: list[StreamEvent]) -> None:
        index = choice.get("index")
        if type(index) is not int:  # JSON: an int, or not one (a bool, a string, None)
            index = position
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _ChoiceState(index, self._salt, self._opened)
        delta = choice.get("delta")
        if delta is None and "delta" not in choice:
            delta = choice.get("message")  # some servers stream whole-message shaped chunks
        if isinstance(delta, dict):
            content = delta.get("content")
            if len(delta) == 1 and state.splitter.answering and type(content) is str:
                if content:  # the usual delta: answer text past any reasoning goes straight out
                    events.append(TextDelta(content, index))
                    state.said.append(content)
                    state.answered = True
            else:
                _delta(state, delta, content, index, events)
        finish = choice.get("finish_reason")
        if finish is not None and not state.finished:
            finish = finish if isinstance(finish, str) else str(finish)
            verdict = self._flush(state, index, finish, events)
            state.finished = self._finished = True
            if finish == "error" and self._failed is None:
                self._failed = self._partial()
            events.append(FinishEvent(finish, index, verdict))

    def _whole_choice(self, choice: dict[str, Any], position: int) -> Choice:
        """One choice of a whole answer, through a fresh choice state and accumulator."""
        index = choice.get("index")
        index = index if isinstance(index, int) and not isinstance(index, bool) else position
        message = choice.get("message")
        if not isinstance(message, dict):
            text = choice.get("text")  # the legacy completions shape
            message = {"content": text} if isinstance(text, str) else {}
        content, finish = message.get("content"), choice.get("finish_reason")
        plain = message.keys() <= _PLAIN and not self._opened  # no tag below: as the rules give
        if plain and type(content) is str and "think>" not in content and "[THINK]" not in content:
            return Choice(index, content, "", [], finish if type(finish) is str else None)
        reasoning = list(reasoning_fields(message))
        texts: list[str] = []
        for is_reasoning, text in content_parts(message.get("content")):
            (reasoning if is_reasoning else texts).append(text)
        text = "".join(texts)
        # Only `</think>`, no opening tag: the chat template opened the block (any model), unless
        # the reasoning came apart (a field or thinking blocks) and the content is all answer.
        opened = not reasoning and (self._opened or ("</think>" in text and "<think>" not in text))
        state = _ChoiceState(index, self._salt, opened)
        events: list[StreamEvent] = [*message_tool_calls(message, self._salt, index)]
        state.called = bool(events)
        state.emit("", "".join(reasoning), index, events)
        state.emit(*state.splitter.feed(text), index, events)
        finish = finish if isinstance(finish, str) else None
        events.append(FinishEvent(finish, index, self._flush(state, index, finish, events)))
        accumulator = ChoiceAccumulator(index)
        for event in events:
            accumulator.feed(event)
        return accumulator.result()

    def _flush(
        self, state: _ChoiceState, index: int, finish: str | None, events: list[StreamEvent]
    ) -> str | None:
        """Release held text and judge how the reasoning ended; returns the verdict."""
        splitter = state.splitter
        state.emit(*splitter.close(), index, events)
        events.extend(state.tools.flush())
        verdict = reasoning_state(
            finish,
            open_block=splitter.unterminated is not None,
            reasoned=state.reasoned,
            answered=state.answered,
            tool_calls=state.called,
        )
        if verdict == REASONING_UNTERMINATED and splitter.unterminated:
            # Already streamed as reasoning; sent again as the answer so that the assembled
            # message is not silently empty (and equals the non-streamed one).
            events.append(TextDelta(splitter.unterminated, index))
            state.said.append(splitter.unterminated)
        log_reasoning_state(verdict, self._model, finish)
        return verdict


def _delta(
    state: _ChoiceState,
    delta: dict[str, Any],
    content: object,
    index: int,
    events: list[StreamEvent],
) -> None:
    """One choice's delta in general: reasoning fields, content (text or blocks), tool calls."""
    splitter = state.splitter
    if "reasoning_content" in delta or "reasoning" in delta:
        for text in reasoning_fields(delta):
            state.emit("", text, index, events)
        if splitter.opened:
            # The reasoning comes in a field: the content is the answer after all.
            splitter.expect_tags()
    if isinstance(content, str):
        if content:
            state.emit(*splitter.feed(content), index, events)
    elif content is not None:
        for is_reasoning, text in content_parts(content):
            if not is_reasoning:
                state.emit(*splitter.feed(text), index, events)
                continue
            state.emit("", text, index, events)
            if splitter.opened:
                splitter.expect_tags()
    tool_calls = delta.get("tool_calls")
    if tool_calls is None and isinstance(delta.get("function_call"), dict):
        tool_calls = [{"index": 0, "function": delta["function_call"]}]
    if isinstance(tool_calls, list) and tool_calls:
        state.called = True
        events.extend(state.tools.feed(tool_calls))


def _start(chunk: dict[str, Any], max_tokens_sent: int | None) -> StreamStart:
    chunk_id, model, created = chunk.get("id"), chunk.get("model"), chunk.get("created")
    return StreamStart(
        chunk_id if isinstance(chunk_id, str) else None,
        model if isinstance(model, str) else None,
        created if isinstance(created, int) and not isinstance(created, bool) else None,
        max_tokens_sent,
    )
