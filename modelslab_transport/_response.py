"""Decode a non-streaming chat completion body into a neutral `ChatCompletion`.

The pieces shared with the stream decoder (content blocks, usage) live here too, so a streamed
and a plain answer are read by the same rules and give the same content and reasoning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._catalog import model_info
from ._error_body import error_from_payload
from ._errors import ServerError, UnexpectedResponseError
from ._events import ChatCompletion, Choice, ToolCall, Usage
from ._reasoning import (
    REASONING_UNTERMINATED,
    ThinkSplitter,
    log_reasoning_state,
    reasoning_state,
)
from ._tool_calls import arguments_text, generated_tool_call_id

__all__ = ["content_parts", "parse_completion", "parse_usage"]

_REASONING_BLOCKS = frozenset(("thinking", "reasoning", "reasoning_text"))


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
    completion_id = _str_or_none(body.get("id"))
    served = _str_or_none(body.get("model"))
    opened = template_opened(model or served)
    choices = [
        _parse_choice(choice, position, completion_id or "", opened)
        for position, choice in enumerate(raw_choices)
        if isinstance(choice, dict)
    ]
    if choices and choices[0].finish_reason == "error":
        # A gateway's provider failure: what the message holds is not a complete answer.
        error = ServerError(
            "ModelsLab's answer ended with finish_reason 'error': the provider failed before "
            "the answer was complete",
            body=body,
        )
        error.partial_text, error.partial_reasoning = choices[0].content, choices[0].reasoning
        raise error
    for choice in choices:
        log_reasoning_state(choice.reasoning_state, model or served, choice.finish_reason)
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


def content_parts(content: object) -> Iterator[tuple[bool, str]]:
    """(is_reasoning, text) for message content given as a string or a list of blocks.

    Mistral's own API sends reasoning as `{"type": "thinking", "thinking": [{"type": "text",
    "text": "…"}]}` (a nested list) beside `{"type": "text", "text": "…"}` blocks; a plain
    string in `thinking` (or `reasoning` / `text`) is accepted too.
    """
    if isinstance(content, str):
        if content:
            yield False, content
        return
    if isinstance(content, dict):
        content = [content]  # a lone block, not wrapped in a list
    elif not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, str):
            if block:
                yield False, block
            continue
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if isinstance(kind, str) and kind in _REASONING_BLOCKS:
            for key in ("thinking", "reasoning", "text"):
                value = block.get(key)
                if isinstance(value, str):
                    if value:
                        yield True, value
                    break
                if isinstance(value, list):
                    for inner in value:
                        thought = _block_text(inner)
                        if thought:
                            yield True, thought
                    break
        elif kind in (None, "text", "output_text"):
            answer = block.get("text")
            if isinstance(answer, str) and answer:
                yield False, answer


def _block_text(block: object) -> str:
    """Text of one entry of a nested thinking list: a text block or a plain string."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict) and block.get("type", "text") == "text":
        text = block.get("text")
        if isinstance(text, str):
            return text
    return ""


def reasoning_fields(message: dict[str, Any]) -> Iterator[str]:
    """Reasoning sent beside the content (`reasoning_content`, `reasoning`), each once."""
    first = message.get("reasoning_content")
    if isinstance(first, str) and first:
        yield first
    second = message.get("reasoning")
    if isinstance(second, str) and second and second != first:
        yield second


def template_opened(model: str | None) -> bool:
    """Whether the catalogue says `model`'s chat template opens `<think>` itself."""
    info = model_info(model) if model else None
    return info is not None and info.reasoning == "template_opened"


def _parse_choice(choice: dict[str, Any], position: int, salt: str, opened: bool) -> Choice:
    index = choice.get("index")
    index = index if isinstance(index, int) and not isinstance(index, bool) else position
    message = choice.get("message")
    if not isinstance(message, dict):
        text = choice.get("text")  # the legacy completions shape
        message = {"content": text} if isinstance(text, str) else {}
    reasoning = list(reasoning_fields(message))
    texts: list[str] = []
    for is_reasoning, text in content_parts(message.get("content")):
        (reasoning if is_reasoning else texts).append(text)
    text = "".join(texts)
    # Only `</think>`, no opening tag: the chat template opened the block (any model; for a
    # template-opened model always), unless the reasoning came apart (a field or thinking
    # blocks) and the content is all answer.
    if not reasoning:
        opened = opened or ("</think>" in text and "<think>" not in text)
    splitter = ThinkSplitter(opened=opened and not reasoning)
    answer, thought = splitter.feed(text)
    tail, last = splitter.close()
    answer += tail
    reasoning += (thought, last)
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    calls = _tool_calls(message, salt)
    joined = "".join(reasoning)
    state = reasoning_state(
        finish,
        open_block=splitter.unterminated is not None,
        reasoned=bool(joined),
        answered=bool(answer),
        tool_calls=bool(calls),
    )
    if state == REASONING_UNTERMINATED:
        # No silent empty answer: the never-closed block is the answer (a stream sends the
        # same text as reasoning first, then as answer at the finish; the two agree).
        answer = splitter.unterminated or ""
    return Choice(
        index=index,
        content=answer,
        reasoning=joined,
        tool_calls=calls,
        finish_reason=finish,
        reasoning_state=state,
    )


def _tool_calls(message: dict[str, Any], salt: str) -> list[ToolCall]:
    raw = message.get("tool_calls")
    if not isinstance(raw, list):
        legacy = message.get("function_call")
        raw = [{"function": legacy}] if isinstance(legacy, dict) else []
    calls: list[ToolCall] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        if not isinstance(function, dict):
            function = {}
        name = function.get("name")
        name = name if isinstance(name, str) else ""
        call_id = item.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = generated_tool_call_id(len(calls), name, salt)
        arguments = arguments_text(function.get("arguments")) or "{}"
        calls.append(ToolCall(id=call_id, name=name, arguments=arguments))
    return calls


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None
