"""The keywords both adapters accept per call, checked by one function with one hint.

A misspelled keyword (`temprature=`, `max_token=`) silently dropped or sent is a bug the user
cannot see; refusing it before anything is sent, with the closest known name, costs nothing.
Body fields this list does not name travel through the explicit `extra_body={...}` channel.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from .. import InvalidInputError

__all__ = [
    "CALL_KEYWORDS",
    "RESERVED_BODY_FIELDS",
    "WIRE_PARAMS",
    "check_call_keywords",
    "with_hints",
]

# Request-body parameters a call may set (ModelsLab's chat/completions, OpenAI-shaped).
WIRE_PARAMS = frozenset(
    {
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "top_k",
        "seed",
        "stop",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "repetition_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "user",
        "stream_options",
    }
)
# What a call may pass to either adapter; each adapter adds its framework's own keys.
CALL_KEYWORDS = WIRE_PARAMS | {"extra_body"}
# Body fields the adapter sets itself; from `extra_body` they would bypass checks or the secret.
RESERVED_BODY_FIELDS = frozenset({"key", "api_key", "model_id", "messages", "stream", "streaming"})


def check_call_keywords(
    kwargs: Mapping[str, Any],
    *,
    what: str,
    framework_keys: Iterable[str] = (),
    channel: str = "extra_body={...}",
) -> dict[str, Any]:
    """Refuse a call keyword that is neither in `CALL_KEYWORDS` nor one of `framework_keys`
    (`InvalidInputError` naming `what`, with a did-you-mean hint and the `channel` for extra
    fields); return a copy of the checked `extra_body` (`kwargs` is left as given)."""
    known = CALL_KEYWORDS | frozenset(framework_keys)
    unknown = sorted(str(k) for k in kwargs if k not in known)
    if unknown:
        raise InvalidInputError(
            f"{what} {with_hints(unknown, known)}; pass extra API fields in {channel}"
        )
    extra = kwargs.get("extra_body") or {}
    if not isinstance(extra, Mapping):
        raise InvalidInputError("extra_body must be a dict of body fields")
    reserved = sorted(set(extra) & RESERVED_BODY_FIELDS)
    if reserved:
        raise InvalidInputError(
            f"extra_body must not set {', '.join(reserved)}: use the parameter itself"
        )
    return dict(extra)


def with_hints(unknown: Iterable[str], known: Collection[str]) -> str:
    """The unknown names, each with the closest known one as a did-you-mean hint."""
    choices = sorted(known)
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, choices, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(hints)
