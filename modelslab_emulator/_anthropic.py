"""The Anthropic-style ``/v1/messages`` and ``/v1/messages/count_tokens`` endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._model import Completion, ModelRequest
from ._sse import StreamEvent, StreamPlan
from ._text import content_text, prompt_tokens, stream_pieces, tokens
from ._tools import ToolSpec
from ._validate import (
    bad,
    check_context,
    int_at_least,
    lookup_model,
    number_in,
    require_object,
    stop_list,
)

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_SIGNATURE = "emulator-signature"
_PIECE = 8


@dataclass(frozen=True)
class MessagesRequest:
    """A validated ``/v1/messages`` request."""

    model: ModelRequest
    model_id: str
    stream: bool


def _system_text(system: Any) -> str:
    return content_text(system)


def to_chat_messages(messages: Any) -> list[dict[str, Any]]:
    """Anthropic messages as OpenAI-style ones (tool_result blocks become ``role: tool``)."""
    if not isinstance(messages, list) or not messages:
        raise bad("The messages field is required and must be a non-empty list.")
    converted: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise bad(f"Invalid messages[{index}]: role must be user or assistant.")
        content = message.get("content")
        if isinstance(content, str):
            converted.append({"role": role, "content": content})
            continue
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        for block in blocks:
            if block.get("type") == "tool_result":
                converted.append(
                    {
                        "role": "tool",
                        "tool_call_id": block.get("tool_use_id"),
                        "content": content_text(block.get("content")),
                    }
                )
        texts = [b for b in blocks if b.get("type") == "text"]
        calls = [
            {
                "id": b.get("id"),
                "type": "function",
                "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input", {}))},
            }
            for b in blocks
            if b.get("type") == "tool_use"
        ]
        if texts or calls or not blocks:
            entry: dict[str, Any] = {"role": role, "content": texts}
            if calls:
                entry["tool_calls"] = calls
            converted.append(entry)
    return converted


def count_tokens_body(body: Any) -> dict[str, int]:
    """Body of ``/v1/messages/count_tokens``."""
    body = require_object(body)
    lookup_model(body, "model", "model_id")
    messages = to_chat_messages(body.get("messages"))
    return {"input_tokens": prompt_tokens(messages, _system_text(body.get("system")))}


def parse_messages(body: Any, *, unicode: bool = False) -> MessagesRequest:
    """Validate a ``/v1/messages`` body."""
    body = require_object(body)
    model, model_id = lookup_model(body, "model", "model_id")
    messages = to_chat_messages(body.get("messages"))
    system = _system_text(body.get("system"))
    number_in(body, "temperature", 0, 2)
    number_in(body, "top_p", 0, 1)
    max_tokens = int_at_least(body, "max_tokens", 1)
    check_context(model, prompt_tokens(messages, system))
    tools = []
    for index, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise bad(f"Invalid tools[{index}]: a tool needs a name.")
        schema = tool.get("input_schema")
        tools.append(ToolSpec(tool["name"], schema if isinstance(schema, dict) else {}))
    choice_spec = body.get("tool_choice") or {"type": "auto"}
    if not isinstance(choice_spec, dict):
        raise bad("Invalid tool_choice: must be an object.")
    kind = choice_spec.get("type", "auto")
    forced = choice_spec.get("name") if kind == "tool" else None
    if kind == "tool" and not any(t.name == forced for t in tools):
        raise bad(f"Invalid tool_choice: no tool named {forced!r}.")
    request = ModelRequest(
        model=model,
        messages=messages,
        system=system,
        tools=tools,
        tool_choice=str({"any": "required", "tool": "required"}.get(kind, kind)),
        forced_tool=forced,
        parallel_tool_calls=not choice_spec.get("disable_parallel_tool_use", False),
        max_tokens=max_tokens,
        stop=stop_list(body.get("stop_sequences"), "stop_sequences"),
        unicode=unicode,
    )
    return MessagesRequest(request, model_id, bool(body.get("stream")))


def _blocks(c: Completion) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if c.reasoning is not None:
        blocks.append({"type": "thinking", "thinking": c.reasoning, "signature": _SIGNATURE})
    if c.answer is not None and (c.answer or c.reasoning is None):
        blocks.append({"type": "text", "text": c.answer})
    blocks.extend(
        {
            "type": "tool_use",
            "id": f"toolu_{t.id}",
            "name": t.name,
            "input": json.loads(t.arguments),
        }
        for t in c.tool_calls
    )
    return blocks


def _stop(c: Completion) -> tuple[str, str | None]:
    if c.stop_sequence is not None:
        return "stop_sequence", c.stop_sequence
    return _STOP_REASONS.get(c.finish_reason, "end_turn"), None


def message_body(request: MessagesRequest, c: Completion, rid: str) -> dict[str, Any]:
    """The non-streaming ``/v1/messages`` body."""
    reason, sequence = _stop(c)
    return {
        "id": rid,
        "type": "message",
        "role": "assistant",
        "model": request.model_id,
        "content": _blocks(c),
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": {"input_tokens": c.prompt_tokens, "output_tokens": c.completion_tokens},
    }


def message_stream(request: MessagesRequest, c: Completion, rid: str) -> StreamPlan:
    """The fault-free Anthropic event stream."""
    start = {**message_body(request, c, rid), "content": [], "stop_reason": None}
    start["stop_sequence"] = None
    start["usage"] = {"input_tokens": c.prompt_tokens, "output_tokens": 0}
    body = [StreamEvent({"type": "message_start", "message": start}, "message_start")]
    for index, block in enumerate(_blocks(c)):
        kind = block["type"]
        if kind == "thinking":
            opening: dict[str, Any] = {"type": "thinking", "thinking": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in stream_pieces(block["thinking"])
            ]
            deltas.append({"type": "signature_delta", "signature": _SIGNATURE})
        elif kind == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in tokens(block["text"])]
        else:
            opening = {**block, "input": {}}
            arguments = json.dumps(block["input"], ensure_ascii=False)
            deltas = [
                {"type": "input_json_delta", "partial_json": arguments[i : i + _PIECE]}
                for i in range(0, len(arguments), _PIECE)
            ]
        body.append(_event("content_block_start", index=index, content_block=opening))
        body.extend(_event("content_block_delta", index=index, delta=d) for d in deltas)
        body.append(_event("content_block_stop", index=index))
    reason, sequence = _stop(c)
    tail = [
        _event(
            "message_delta",
            delta={"stop_reason": reason, "stop_sequence": sequence},
            usage={"output_tokens": c.completion_tokens},
        ),
        _event("message_stop"),
    ]
    error = _event("error", error={"type": "api_error", "message": "Provider returned error"})
    return StreamPlan(body, tail, done=False, error_event=error)


def _event(kind: str, **fields: Any) -> StreamEvent:
    return StreamEvent({"type": kind, **fields}, kind)
