"""The bodies of the token-counting and model-listing endpoints, and what their answers hold."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InvalidInputError, UnexpectedResponseError

__all__ = ["count_tokens_body", "input_tokens_from_body", "models_from_body"]


def count_tokens_body(
    model: str, messages: Sequence[Mapping[str, Any]], system: str | None = None
) -> dict[str, Any]:
    """Turn OpenAI-shaped chat messages into the Anthropic-style count_tokens body.

    System messages join `system`; tool calls and tool results are counted as their text.
    """
    if not model:
        raise InvalidInputError("model must be a non-empty string")
    systems = [system] if system else []
    converted: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        text = _text(message.get("content"))
        if role in ("system", "developer"):
            systems.append(text)
            continue
        calls = message.get("tool_calls") or []
        if calls:
            text = "\n".join([text, *(json.dumps(c.get("function", c)) for c in calls)]).strip()
        wire_role = "assistant" if role == "assistant" else "user"
        if converted and converted[-1]["role"] == wire_role:
            converted[-1]["content"] += "\n" + text
        else:
            converted.append({"role": wire_role, "content": text})
    if not converted:
        converted.append({"role": "user", "content": ""})
    body: dict[str, Any] = {"model": model, "messages": converted}
    if systems:
        body["system"] = "\n".join(systems)
    return body


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str) and p)
    return str(content)


def models_from_body(body: Any) -> list[dict[str, Any]]:
    """The `data` list of a /v1/models answer."""
    data = body.get("data") if isinstance(body, Mapping) else body
    if not isinstance(data, list):
        raise UnexpectedResponseError("The models list has no 'data' array")
    return [m for m in data if isinstance(m, dict)]


def input_tokens_from_body(body: Any) -> int:
    """The `input_tokens` of a count_tokens answer; a body without it is not an answer."""
    value = body.get("input_tokens") if isinstance(body, Mapping) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(body, Mapping):
        keys = ", ".join(sorted(str(key) for key in body)[:10]) or "none"
        found = f"keys: {keys}" if value is None else f"input_tokens: {value!r}"[:100]
    else:
        found = f"a JSON {type(body).__name__}"
    raise UnexpectedResponseError(
        f"ModelsLab's count_tokens answer has no token count ({found})",
        body=body if isinstance(body, Mapping) else None,
    )
