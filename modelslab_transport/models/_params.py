"""The ranges ModelsLab documents for sampling and tool parameters, and the shape of its
messages: refused before sending."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InvalidInputError

__all__ = ["ROLES", "validate_messages", "validate_params"]

# The documented roles. OpenAI's "developer" is not one: adapters send it as "system".
ROLES = frozenset({"system", "user", "assistant", "tool"})
_TOOL_CHOICE_WORDS = frozenset({"auto", "none", "required"})
_MAX_STOP = 4


def _number(params: Mapping[str, Any], name: str, low: float, high: float) -> None:
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidInputError(f"{name} must be a number, not {value!r}")
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low:g} and {high:g}, not {value!r}")


def _integer(params: Mapping[str, Any], name: str, low: int, high: int | None = None) -> None:
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be a whole number, not {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InvalidInputError(f"{name} must be {bound}, not {value}")


def validate_params(params: Mapping[str, Any]) -> None:
    """Check sampling and tool parameters against ModelsLab's documented ranges."""
    _number(params, "temperature", 0.0, 2.0)
    _number(params, "top_p", 0.0, 1.0)
    _number(params, "presence_penalty", -2.0, 2.0)
    _number(params, "frequency_penalty", -2.0, 2.0)
    _number(params, "repetition_penalty", 0.1, 2.0)  # ModelsLab's documented range
    _integer(params, "max_tokens", 1)
    _integer(params, "max_completion_tokens", 1)
    _integer(params, "n", 1, 10)
    _integer(params, "top_k", 1)  # documented: top_k >= 1 (no -1 "disabled" value)
    _integer(params, "seed", -(2**63), 2**64)
    _check_stop(params.get("stop"))
    _check_tools(params.get("tools"))
    _check_tool_choice(params.get("tool_choice"))
    fmt = params.get("response_format")
    if fmt is not None and not (isinstance(fmt, Mapping) and isinstance(fmt.get("type"), str)):
        raise InvalidInputError("response_format must be a dict like {'type': 'json_object'}")


def _check_stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
        raise InvalidInputError("stop must be a string or a list of strings")
    if len(stop) > _MAX_STOP:
        raise InvalidInputError(f"stop takes at most {_MAX_STOP} sequences, got {len(stop)}")


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, (list, tuple)):
        raise InvalidInputError("tools must be a list of {'type': 'function', ...} dicts")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not function.get("name"):
            raise InvalidInputError(
                f"tools[{i}] must look like {{'type': 'function', 'function': {{'name': ...}}}}"
            )
        schema = function.get("parameters", {"type": "object"})
        if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
            raise InvalidInputError(
                f"tools[{i}] ({function['name']}): parameters must be a JSON schema of type object"
            )
        try:
            json.dumps(tool)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"tools[{i}] ({function['name']}) is not JSON-serialisable: {exc}"
            ) from None


def _check_tool_choice(choice: Any) -> None:
    if choice is None or (isinstance(choice, str) and choice in _TOOL_CHOICE_WORDS):
        return
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return
    raise InvalidInputError(
        "tool_choice must be 'auto', 'none', 'required' or "
        "{'type': 'function', 'function': {'name': ...}}, "
        f"not {choice!r}"
    )


def validate_messages(messages: Sequence[Mapping[str, Any]]) -> None:
    """Refuse messages ModelsLab would refuse: not a list, empty, an unknown role, a tool
    result without its call id, a message without content (an assistant's may have none)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidInputError("messages must be a list of {'role': ..., 'content': ...} dicts")
    if not messages:
        raise InvalidInputError("messages is empty: send at least one message")
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidInputError(f"messages[{i}] is a {type(message).__name__}, not a dict")
        role = message.get("role")
        if role not in ROLES:
            hint = "; send developer instructions as role 'system'" if role == "developer" else ""
            raise InvalidInputError(
                f"messages[{i}] has role {role!r}; ModelsLab accepts "
                f"system, user, assistant and tool{hint}"
            )
        if role == "tool" and not message.get("tool_call_id"):
            raise InvalidInputError(f"messages[{i}] is a tool result without a tool_call_id")
        content = message.get("content")
        if content is None and role != "assistant":
            raise InvalidInputError(f"messages[{i}] ({role}) has no content")
        if content is not None and not isinstance(content, (str, list)):
            raise InvalidInputError(
                f"messages[{i}].content must be a string or a list of parts, "
                f"not {type(content).__name__}"
            )
