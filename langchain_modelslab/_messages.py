"""LangChain messages → ModelsLab's OpenAI-shaped wire messages (pure functions, no I/O).

Mistral-family back ends (Magistral) are strict about their chat template: roles must
alternate and tool-call ids must be 9 alphanumerics. So consecutive messages of one role are
merged, and every tool-call id is normalised with the transport's deterministic mapping, which
keeps an assistant's call and the tool result that answers it paired across turns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.block_translators.openai import convert_to_openai_data_block
from langchain_core.messages.content import is_data_content_block

from modelslab_transport import normalize_tool_call_id, wire_tool_call

from ._errors import ModelsLabInvalidInputError

__all__ = ["convert_message", "convert_messages", "reasoning_of"]

# ModelsLab documents system/user/assistant/tool; OpenAI's "developer" is sent as "system".
_CHAT_ROLES = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "developer": "system",
}
# Blocks an assistant message may carry that are not answer text; tool calls are taken from
# `AIMessage.tool_calls`, reasoning from `reasoning_of`.
_SKIPPED_AI_BLOCKS = frozenset(
    {
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_result",
        "function_call",
        "reasoning",
        "thinking",
        "redacted_thinking",
        "reasoning_content",
        "refusal",
    }
)


def convert_messages(
    messages: Sequence[BaseMessage], *, reasoning_in_history: bool = False
) -> list[dict[str, Any]]:
    """Convert a LangChain conversation to wire messages, merging same-role neighbours.

    `reasoning_in_history` sends earlier assistant reasoning back inline as
    `<think>…</think>` (Magistral's own format); by default it is dropped, as its model card
    recommends.
    """
    wire: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        converted = convert_message(
            message, reasoning_in_history=reasoning_in_history, position=position
        )
        if wire and _mergeable(wire[-1], converted):
            wire[-1] = _merge(wire[-1], converted)
        else:
            wire.append(converted)
    return wire


def convert_message(
    message: BaseMessage, *, reasoning_in_history: bool = False, position: int = 0
) -> dict[str, Any]:
    """Convert one LangChain message to one wire message."""
    if isinstance(message, HumanMessage):
        wire: dict[str, Any] = {"role": "user", "content": _user_content(message.content)}
    elif isinstance(message, AIMessage):
        wire = _assistant(message, reasoning_in_history=reasoning_in_history, position=position)
    elif isinstance(message, SystemMessage):
        wire = {"role": "system", "content": _plain_text(message.content)}
    elif isinstance(message, ToolMessage):
        wire = _tool_result(message)
    elif isinstance(message, ChatMessage):
        role = _CHAT_ROLES.get(message.role, message.role)
        content = _user_content(message.content) if role == "user" else _plain_text(message.content)
        wire = {"role": role, "content": content}
    else:
        raise ModelsLabInvalidInputError(
            f"ChatModelsLab cannot send a {type(message).__name__}; use SystemMessage, "
            "HumanMessage, AIMessage or ToolMessage"
        )
    if message.name and wire["role"] in ("user", "assistant", "system", "tool"):
        wire["name"] = message.name
    return wire


def reasoning_of(message: AIMessage) -> str:
    """The reasoning an assistant message carries, from additional_kwargs or content blocks."""
    kept = message.additional_kwargs.get("reasoning_content")
    if isinstance(kept, str) and kept:
        return kept
    parts: list[str] = []
    if isinstance(message.content, list):
        for block in message.content:
            if isinstance(block, dict) and block.get("type") in ("reasoning", "thinking"):
                text = block.get("reasoning", block.get("thinking", ""))
                if isinstance(text, str):
                    parts.append(text)
    return "".join(parts)


# -- per role --------------------------------------------------------------------------------


def _assistant(message: AIMessage, *, reasoning_in_history: bool, position: int) -> dict[str, Any]:
    text = _plain_text(message.content, skip=_SKIPPED_AI_BLOCKS)
    if reasoning_in_history and (reasoning := reasoning_of(message)):
        text = f"<think>\n{reasoning}\n</think>\n{text}"
    calls: list[dict[str, Any]] = []
    for i, call in enumerate(message.tool_calls):
        arguments = json.dumps(call["args"], ensure_ascii=False)
        calls.append(
            wire_tool_call(call.get("id"), call["name"], arguments, position=position, index=i)
        )
    for j, bad in enumerate(message.invalid_tool_calls, start=len(calls)):
        # Sent back verbatim so a tool message answering it still finds its call.
        calls.append(
            wire_tool_call(
                bad.get("id"),
                bad.get("name") or "",
                bad.get("args") or "",
                position=position,
                index=j,
            )
        )
    wire: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        wire["tool_calls"] = calls
        if not text:
            wire["content"] = None
    return wire


def _tool_result(message: ToolMessage) -> dict[str, Any]:
    content = message.content
    if isinstance(content, str):
        text = content
    else:
        pieces = []
        for block in content:
            if isinstance(block, str):
                pieces.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                pieces.append(str(block.get("text", "")))
            else:
                pieces.append(json.dumps(block, ensure_ascii=False, default=str))
        text = "\n".join(pieces)
    if message.status == "error" and not text.lower().startswith("error"):
        # The OpenAI wire shape has no error flag: say it in the text the model reads.
        text = f"Error: {text}"
    return {
        "role": "tool",
        "tool_call_id": normalize_tool_call_id(message.tool_call_id or ""),
        "content": text,
    }


# -- content ---------------------------------------------------------------------------------


def _plain_text(
    content: str | list[str | dict[Any, Any]], skip: frozenset[str] = frozenset()
) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict):
            kind = block.get("type")
            if kind in skip:
                continue
            if kind == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
    return "\n".join(p for p in parts if p)


def _user_content(content: str | list[str | dict[Any, Any]]) -> str | list[dict[str, Any]]:
    """A string, or a list of text / image_url parts when there is an image."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif isinstance(block, dict):
            parts.append(_user_part(block))
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts if p["text"])
    return parts


def _user_part(block: Mapping[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind == "image_url":
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        part: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
        if isinstance(image, Mapping) and image.get("detail"):
            part["image_url"]["detail"] = image["detail"]
        return part
    if kind == "image" and isinstance(source := block.get("source"), Mapping):
        # Anthropic-style image block.
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        else:
            url = str(source.get("url", ""))
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "image" and is_data_content_block(dict(block)):
        try:
            return convert_to_openai_data_block(dict(block))
        except ValueError as exc:
            raise ModelsLabInvalidInputError(f"Cannot send this image block: {exc}") from None
    raise ModelsLabInvalidInputError(
        f"ChatModelsLab sends text and images only; got a {kind!r} content block"
    )


# -- merging ---------------------------------------------------------------------------------


def _mergeable(previous: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    # Tool results each answer their own call; everything else must alternate.
    role = previous.get("role")
    return role == current.get("role") and role != "tool"


def _merge(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"role": previous["role"]}
    merged["content"] = _join_content(previous.get("content"), current.get("content"))
    calls = [*previous.get("tool_calls", []), *current.get("tool_calls", [])]
    if calls:
        merged["tool_calls"] = calls
        if merged["content"] == "":
            merged["content"] = None
    elif merged["content"] is None:
        merged["content"] = ""
    if previous.get("name") and previous.get("name") == current.get("name"):
        merged["name"] = previous["name"]
    return merged


def _join_content(left: Any, right: Any) -> Any:
    if left is None or left == "":
        return right
    if right is None or right == "":
        return left
    if isinstance(left, str) and isinstance(right, str):
        return f"{left}\n\n{right}"
    return [*_as_parts(left), *_as_parts(right)]


def _as_parts(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
