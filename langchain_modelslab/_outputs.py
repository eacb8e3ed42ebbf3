"""Neutral transport results → LangChain messages (pure functions, no I/O).

A whole `ChatCompletion` becomes a `ChatResult`; a stream of neutral events becomes
`AIMessageChunk`s whose sum equals the `AIMessage` the same answer gives through `invoke`:
text token by token, reasoning in `additional_kwargs["reasoning_content"]` (never in
`content`), tool-call chunks with stable indexes, and one final chunk that carries the finish
reason, the model name and the usage, exactly once. When the reasoning ended badly, the
metadata says so in `reasoning_state`: `"cut"` (finish `length` while still reasoning: raise
`max_tokens`) or `"unterminated"` (a `<think>` that never closed; its text is the answer).
"""

from __future__ import annotations

import json
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk, InvalidToolCall, ToolCall
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

import modelslab_transport as mt

__all__ = [
    "PROVIDER",
    "StreamConverter",
    "combine_llm_outputs",
    "completion_to_result",
    "token_usage",
    "usage_metadata",
]

PROVIDER = "modelslab"


def usage_metadata(usage: mt.Usage) -> UsageMetadata:
    """LangChain usage from ModelsLab's counts; reasoning and cache details where known."""
    total = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
    metadata: dict[str, Any] = {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": total,
    }
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = {"reasoning": usage.reasoning_tokens}
    if usage.cached_tokens is not None:
        metadata["input_token_details"] = {"cache_read": usage.cached_tokens}
    # cast: langchain-core declares the detail keys with typing.NotRequired (3.11+ only).
    return cast("UsageMetadata", metadata)


def token_usage(usage: mt.Usage) -> dict[str, Any]:
    """The usage in the OpenAI shape ChatOpenAI puts in `llm_output["token_usage"]`."""
    counts: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
    }
    if usage.reasoning_tokens is not None:
        counts["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    if usage.cached_tokens is not None:
        counts["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    return counts


def combine_llm_outputs(outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
    """`generate` over several prompts: token counts summed (details too), as ChatOpenAI does."""
    if len(outputs) == 1 and (only := outputs[0]):  # every invoke: the counts copied as is
        counts = only.get("token_usage") or {}
        return {"token_usage": _copy_counts(counts), "model_name": only.get("model_name")}
    total: dict[str, Any] = {}
    model = None
    for output in outputs:
        if not output:
            continue
        model = model or output.get("model_name")
        _add_counts(total, output.get("token_usage") or {})
    return {"token_usage": total, "model_name": model}


def _copy_counts(counts: dict[str, Any]) -> dict[str, Any]:
    # What `_add_counts` makes of one output's counts (ints kept, nested dicts copied).
    copied: dict[str, Any] = {}
    for key, value in counts.items():
        if isinstance(value, dict):
            copied[key] = _copy_counts(value)
        elif isinstance(value, int):
            copied[key] = 0 + value
    return copied


def _add_counts(total: dict[str, Any], counts: dict[str, Any]) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            _add_counts(total.setdefault(key, {}), value)
        elif isinstance(value, int):
            total[key] = total.get(key, 0) + value


def response_metadata(
    *,
    model: str | None,
    finish_reason: str | None,
    completion_id: str | None,
    reasoning_state: str | None = None,
) -> dict[str, Any]:
    """The metadata both invoke and the last stream chunk carry."""
    metadata: dict[str, Any] = {
        "model_name": model,
        "finish_reason": finish_reason,
        "id": completion_id,
        "model_provider": PROVIDER,
    }
    if reasoning_state is not None:  # only when there is something to say
        metadata["reasoning_state"] = reasoning_state
    return metadata


def completion_to_result(completion: mt.ChatCompletion, *, requested_model: str) -> ChatResult:
    """One ChatGeneration per choice; every message carries the completion's usage."""
    model = completion.model or requested_model
    generations = []
    for choice in completion.choices or [mt.Choice()]:
        # Each message its own usage dict (it is assigned, not validated into a copy).
        usage = usage_metadata(completion.usage) if completion.usage else None
        message = _choice_message(choice, model=model, completion_id=completion.id, usage=usage)
        generations.append(
            ChatGeneration(message=message, generation_info={"finish_reason": choice.finish_reason})
        )
    # Callbacks and cost trackers read `llm_output["token_usage"]` (ChatOpenAI's key).
    # LangChain merges llm_output into a single generation's response_metadata, as it does
    # for ChatOpenAI; the message's `usage_metadata` is the standard place for the counts.
    llm_output: dict[str, Any] = {"model_name": model, "id": completion.id}
    if completion.usage:
        llm_output["token_usage"] = token_usage(completion.usage)
    return ChatResult(generations=generations, llm_output=llm_output)


def _choice_message(
    choice: mt.Choice, *, model: str, completion_id: str | None, usage: UsageMetadata | None
) -> AIMessage:
    # Empty lists and dicts are the fields' defaults: left out, they cost no validation.
    fields: dict[str, Any] = {}
    if choice.tool_calls:
        calls: list[ToolCall] = []
        invalid: list[InvalidToolCall] = []
        for call in choice.tool_calls:
            parsed, error = _parse_arguments(call.arguments)
            if error is None:
                calls.append(tool_call(name=call.name, args=parsed, id=call.id))
            else:
                invalid.append(
                    invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=error)
                )
        fields.update(tool_calls=calls, invalid_tool_calls=invalid)
    if choice.reasoning:
        fields["additional_kwargs"] = {"reasoning_content": choice.reasoning}
    message = AIMessage(content=choice.content, **fields)
    # Assigned, not passed: the constructor would validate both dicts into copies (~2 us);
    # assigned they are still marked as set, and they are built well-formed right here.
    message.response_metadata = response_metadata(
        model=model,
        finish_reason=choice.finish_reason,
        completion_id=completion_id,
        reasoning_state=choice.reasoning_state,
    )
    if usage is not None:
        message.usage_metadata = usage
    return message


def _parse_arguments(arguments: str) -> tuple[dict[str, Any], str | None]:
    if not arguments.strip():
        return {}, None
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError as exc:
        return {}, f"Tool-call arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return {}, f"Tool-call arguments must be a JSON object, not {type(value).__name__}"
    return value, None


class StreamConverter:
    """Turns the neutral events of one stream into `ChatGenerationChunk`s for choice 0.

    Feed every event to `feed`; after the stream ends, `finish` returns the last chunk
    (finish reason, model name, id and, when reported, usage).
    """

    __slots__ = ("_finish_reason", "_id", "_model", "_reasoning_state", "_usage")

    def __init__(self, *, requested_model: str) -> None:
        self._model: str = requested_model
        self._id: str | None = None
        self._finish_reason: str | None = None
        self._reasoning_state: str | None = None
        self._usage: mt.Usage | None = None

    def feed(self, event: mt.StreamEvent) -> ChatGenerationChunk | None:
        """The chunk for one event, or None for events that only update state."""
        # Every chunk names its provider so `content_blocks` works on chunks as well. The
        # metadata is assigned after construction: passed to the constructor it costs ~1 us
        # per chunk, assigned (pydantic's plain setattr, still marked as set) about half.
        if isinstance(event, mt.TextDelta):  # the usual event first
            if event.choice != 0 or not event.text:
                return None
            message = AIMessageChunk(content=event.text)
            message.response_metadata = {"model_provider": PROVIDER}
            return ChatGenerationChunk(message=message)
        if isinstance(event, mt.ReasoningDelta):
            if event.choice != 0 or not event.text:
                return None
            message = AIMessageChunk(
                content="", additional_kwargs={"reasoning_content": event.text}
            )
            message.response_metadata = {"model_provider": PROVIDER}
            return ChatGenerationChunk(message=message)
        if isinstance(event, mt.ToolCallDelta):
            if event.choice != 0:
                return None
            piece = tool_call_chunk(
                name=event.name, args=event.arguments, id=event.id, index=event.index
            )
            message = AIMessageChunk(content="", tool_call_chunks=[piece])
            message.response_metadata = {"model_provider": PROVIDER}
            return ChatGenerationChunk(message=message)
        if isinstance(event, mt.StreamStart):
            self._model = event.model or self._model
            self._id = event.id
        elif isinstance(event, mt.FinishEvent):
            if event.choice == 0:
                self._finish_reason = event.finish_reason
                self._reasoning_state = event.reasoning_state
        elif isinstance(event, mt.UsageEvent):
            self._usage = event.usage
        return None

    def finish(self) -> ChatGenerationChunk:
        """The closing chunk: metadata and usage, exactly once per stream."""
        metadata = response_metadata(
            model=self._model,
            finish_reason=self._finish_reason,
            completion_id=self._id,
            reasoning_state=self._reasoning_state,
        )
        if self._usage:
            # As invoke's (merged from llm_output): the aggregated generation a streamed
            # run's on_llm_end sees carries the same `token_usage`.
            metadata["token_usage"] = token_usage(self._usage)
        message = AIMessageChunk(
            content="",
            usage_metadata=usage_metadata(self._usage) if self._usage else None,
            response_metadata=metadata,
            chunk_position="last",
        )
        return ChatGenerationChunk(
            message=message, generation_info={"finish_reason": self._finish_reason}
        )
