"""The chat/completions request body: built and checked before anything is sent.

The API key is never part of a payload built here; the client adds it at send time, so the
dicts that adapters build, log or trace never hold the secret. What depends on the model (its
conversation rules, the default `max_tokens`, parameter ranges) comes from `models`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from ._errors import InvalidInputError
from ._settings import ClientSettings
from .models._budget import ChatPayload, fill_max_tokens, max_tokens_sent, needs_max_tokens
from .models._conversation import shape_conversation
from .models._params import validate_messages, validate_params
from .models._tools import tool_choice_for_wire

# The public names (max_tokens_sent is the budget's, in `models`); the rest imported by name.
__all__ = ["build_chat_payload", "max_tokens_sent"]


def build_chat_payload(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    stream: bool = False,
    include_usage: bool = True,
    base_url: str | None = None,
    **params: Any,
) -> ChatPayload:
    """Build a checked chat/completions body: the body a client sends for it.

    Raises `InvalidInputError` for anything ModelsLab would refuse, so a mistake costs no
    request. None parameters are left out, unknown ones pass through (provider extras). A
    Mistral-family conversation is shaped for its tokenizer (`shape_conversation`). `stream`
    and `stream_options` are decided here (usage asked for unless `include_usage` is False).
    With `base_url` (the adapters pass theirs), a body without an output limit gets the model's
    default for that host (`fill_max_tokens`); without it, the client fills it in when sending.

    >>> build_chat_payload("m", [{"role": "user", "content": "Hi"}], temperature=0.2)["model_id"]
    'm'
    """
    if not isinstance(model, str) or not model.strip():
        raise InvalidInputError(
            "model must be a non-empty string, e.g. 'mistralai-Magistral-Small-2506'"
        )
    validate_messages(messages)
    shaped = shape_conversation(model, messages)
    body = ChatPayload(model_id=model, model=model, messages=list(shaped))
    clean = {k: v for k, v in params.items() if v is not None}
    validate_params(clean)
    body.update(clean)
    _decide_stream(body, stream, include_usage)
    if "tool_choice" in body and not body.get("tools"):
        # ModelsLab (like OpenAI) refuses tool_choice without tools; a forced choice is a bug.
        # The one rule both adapters use: auto/none dropped, anything else refused.
        tool_choice_for_wire(body["tool_choice"], ())
        del body["tool_choice"]
    if not body.get("tools"):
        body.pop("tools", None)
        body.pop("parallel_tool_calls", None)
    if base_url is not None:
        fill_max_tokens(body, base_url)
    return body


def _decide_stream(body: dict[str, Any], stream: bool, include_usage: bool) -> None:
    """The one rule for `stream` and `stream_options`: usage is asked for in a stream unless
    the caller said otherwise; a plain call sends no options."""
    body["stream"] = stream
    if stream:
        options = dict(body.get("stream_options") or {})
        options.setdefault("include_usage", include_usage)
        body["stream_options"] = options
    else:
        body.pop("stream_options", None)


def requested_model(payload: Mapping[str, Any]) -> str | None:
    """The model id a chat payload asks for (`model_id`, else `model`)."""
    model = payload.get("model_id") or payload.get("model")
    return model if isinstance(model, str) else None


def for_call(
    payload: Mapping[str, Any], *, stream: bool, base_url: str | None = None
) -> ChatPayload:
    """The body a client for `base_url` sends: `payload` itself when `build_chat_payload` made it
    for this call (`stream` as asked, an output limit set). Otherwise (a hand-built dict, a body
    built for the other mode or without `base_url`) a copy, with `stream` decided by the same
    rule and, when it sets no output limit, the model's default for that host."""
    if _built_for(payload, stream):
        return payload
    body = ChatPayload(payload)
    body.filled_max_tokens = getattr(payload, "filled_max_tokens", None)
    _decide_stream(body, stream, include_usage=True)
    fill_max_tokens(body, base_url)
    return body


def _built_for(payload: Mapping[str, Any], stream: bool) -> TypeGuard[ChatPayload]:
    """Whether `build_chat_payload` made `payload` for this call: it is sent as built."""
    return (
        isinstance(payload, ChatPayload)
        and payload.get("stream") is stream
        and not needs_max_tokens(payload)
    )


# What json.dumps builds per call with these options, built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_body(payload: Mapping[str, Any], settings: ClientSettings) -> bytes:
    """Serialise a payload with the key added (ModelsLab's documented body auth)."""
    try:
        text = _ENCODER.encode({**payload, "key": settings.api_key.get_secret_value()})
    except (TypeError, ValueError) as exc:
        # The message names the offending type or value, never the key.
        raise InvalidInputError(f"The request is not JSON-serialisable: {exc}") from None
    return text.encode()
