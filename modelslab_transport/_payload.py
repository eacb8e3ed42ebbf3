"""The chat/completions request body: built and checked before anything is sent.

The API key is never part of a payload built here; the client adds it at send time, so the
dicts that adapters build, log or trace never hold the secret.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._conversation import shape_conversation
from ._errors import InvalidInputError, ModelsLabError, UnexpectedResponseError
from ._settings import ClientSettings
from ._tool_calls import tool_choice_for_wire

__all__ = [
    "FALLBACK_ORDER",
    "ROLES",
    "StructuredMethod",
    "build_chat_payload",
    "count_tokens_body",
    "encode_body",
    "fallback_methods",
    "for_call",
    "input_tokens_from_body",
    "is_format_refusal",
    "json_mode_instruction",
    "models_from_body",
    "requested_model",
    "validate_params",
]

# The documented roles. OpenAI's "developer" is not one: adapters send it as "system".
ROLES = frozenset({"system", "user", "assistant", "tool"})
_TOOL_CHOICE_WORDS = frozenset({"auto", "none", "required"})
_MAX_STOP = 4


def build_chat_payload(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    stream: bool = False,
    include_usage: bool = True,
    **params: Any,
) -> dict[str, Any]:
    """Build a checked chat/completions body.

    Raises `InvalidInputError` (a ValueError) for anything ModelsLab would refuse, so that a
    mistake costs no request. Parameters set to None are left out; unknown parameters pass
    through unchanged (ModelsLab accepts provider-specific extras). A Mistral-family model's
    conversation is shaped for Mistral's tokenizer (`shape_conversation`; a trailing assistant
    message raises `InvalidConversationError`); other models' messages are sent as given.

    >>> build_chat_payload("m", [{"role": "user", "content": "Hi"}], temperature=0.2)["model_id"]
    'm'
    """
    if not isinstance(model, str) or not model.strip():
        raise InvalidInputError(
            "model must be a non-empty string, e.g. 'mistralai-Magistral-Small-2506'"
        )
    _check_messages(messages)
    shaped = shape_conversation(model, messages)
    body: dict[str, Any] = {"model_id": model, "model": model, "messages": list(shaped)}
    clean = {k: v for k, v in params.items() if v is not None}
    validate_params(clean)
    body.update(clean)
    body["stream"] = stream
    if stream:
        options = dict(body.get("stream_options") or {})
        options.setdefault("include_usage", include_usage)
        body["stream_options"] = options
    else:
        body.pop("stream_options", None)
    if "tool_choice" in body and not body.get("tools"):
        # ModelsLab (like OpenAI) refuses tool_choice without tools; a forced choice is a bug.
        # The one rule both adapters use: auto/none dropped, anything else refused.
        tool_choice_for_wire(body["tool_choice"], ())
        del body["tool_choice"]
    if not body.get("tools"):
        body.pop("tools", None)
        body.pop("parallel_tool_calls", None)
    return body


def _check_messages(messages: Sequence[Mapping[str, Any]]) -> None:
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


def requested_model(payload: Mapping[str, Any]) -> str | None:
    """The model id a chat payload asks for (`model_id`, else `model`)."""
    model = payload.get("model_id") or payload.get("model")
    return model if isinstance(model, str) else None


def for_call(payload: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
    """The body actually sent: the one place deciding `stream` and `stream_options` (usage is
    asked for in a stream unless the caller said otherwise; a plain call sends no options)."""
    body = {**payload, "stream": stream}
    if stream:
        body.setdefault("stream_options", {"include_usage": True})
    else:
        body.pop("stream_options", None)
    return body


def encode_body(payload: Mapping[str, Any], settings: ClientSettings) -> bytes:
    """Serialise a payload with the key added (ModelsLab's documented body auth)."""
    try:
        text = json.dumps(
            {**payload, "key": settings.api_key.get_secret_value()},
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        # The message names the offending type or value, never the key.
        raise InvalidInputError(f"The request is not JSON-serialisable: {exc}") from None
    return text.encode()


# -- the token-counting and model-listing endpoints ---------------------------------------


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


# -- structured output when an upstream refuses a response_format ----------------------------
# Structured output when an upstream refuses the `response_format` it was asked for.
#
# `json_schema` is undocumented on ModelsLab, and some providers it routes to refuse it (or even
# `json_object`); ModelsLab then answers `{"status":"error","message":"Provider returned error"}`,
# usually with HTTP 200. Both adapters then retry in the next mode of `FALLBACK_ORDER`: JSON mode
# with the schema told in a system message, then a forced function call.

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
