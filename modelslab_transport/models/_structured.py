"""Structured output when an upstream refuses the `response_format` it was asked for.

`json_schema` is undocumented on ModelsLab, and some providers it routes to refuse it (or even
`json_object`); ModelsLab then answers `{"status":"error","message":"Provider returned error"}`,
usually with HTTP 200. Both adapters then retry in the next mode of `FALLBACK_ORDER`: JSON mode
with the schema told in a system message, then a forced function call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from .._errors import ModelsLabError

__all__ = [
    "FALLBACK_ORDER",
    "StructuredMethod",
    "fallback_methods",
    "is_format_refusal",
    "json_mode_instruction",
]

StructuredMethod: TypeAlias = Literal["function_calling", "json_mode", "json_schema"]

#: The order in which structured-output methods are tried after a format refusal.
FALLBACK_ORDER: tuple[StructuredMethod, ...] = ("json_schema", "json_mode", "function_calling")

_PROVIDER_REFUSAL = "provider returned error"
# What a 400 says when it is about the requested format rather than the rest of the request.
_FORMAT_WORDS = (
    "json_schema",
    "json schema",
    "response_format",
    "response format",
    "json_object",
    "json mode",
    "schema",
    "structured output",
    "guided_json",
    "guided decoding",
)


def fallback_methods(method: StructuredMethod) -> tuple[StructuredMethod, ...]:
    """`method` and the methods to try after it, in order (function calling is last)."""
    return FALLBACK_ORDER[FALLBACK_ORDER.index(method) :]


def is_format_refusal(error: BaseException) -> bool:
    """Whether `error`, raised by a request that carried a `response_format`, refused that format.

    True for ModelsLab's wrapped upstream failure ("Provider returned error") answered with a
    2xx or a 400/422, and for a 400/422 whose message names the format or the schema. Anything
    else (401, 402, 429, 5xx, a context overflow, other messages) is a real error, not a reason
    to try another mode. Decided by status and message, not by class, so a finer typing of
    error bodies keeps working.
    """
    if not isinstance(error, ModelsLabError):
        return False
    status = error.status_code
    if status is not None and not (200 <= status < 300 or status in (400, 422)):
        return False
    text = error.message.lower()
    if _PROVIDER_REFUSAL in text:
        return True
    return status in (400, 422) and any(word in text for word in _FORMAT_WORDS)


def json_mode_instruction(schema: Mapping[str, Any], *, name: str | None = None) -> str:
    """The system instruction that carries `schema` when JSON mode stands in for json_schema."""
    subject = f" (a {name})" if name else ""
    return (
        f"Answer with one JSON object{subject} and nothing else: no prose, no code fences. "
        "It must conform to this JSON schema:\n"
        + json.dumps(dict(schema), ensure_ascii=False, separators=(",", ":"))
    )
