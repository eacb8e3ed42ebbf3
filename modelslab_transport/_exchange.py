"""The I/O-free steps of one request/response exchange, shared by the sync and async clients."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from ._error_body import error_from_payload, error_from_response, parse_retry_after
from ._errors import InvalidInputError, ModelsLabError, UnexpectedResponseError
from ._events import (
    ChatCompletion,
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from ._settings import CHAT_PATH, COUNT_TOKENS_PATH, MODELS_PATH, ClientSettings

__all__ = [
    "CHAT_PATH",
    "COUNT_TOKENS_PATH",
    "MODELS_PATH",
    "completion_events",
    "decode_json",
    "encode_body",
    "failure",
    "is_event_stream",
    "log_attempt",
    "logger",
    "plain_payload",
    "request_headers",
    "stream_limits",
    "stream_timeout",
    "streaming_payload",
]

logger = logging.getLogger("modelslab_transport")


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


def plain_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for a non-streaming call."""
    body = {**payload, "stream": False}
    body.pop("stream_options", None)
    return body


def streaming_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for a streaming call: usage is asked for unless the caller said otherwise."""
    body = {**payload, "stream": True}
    body.setdefault("stream_options", {"include_usage": True})
    return body


def request_headers(settings: ClientSettings, path: str) -> dict[str, str]:
    """Headers for `path`; the `/v1/...` endpoints (models, messages, count_tokens) declare
    `x-api-key` auth, so they get it beside the Bearer header."""
    return settings.headers(path)


def _at_most(limit: float | None, cap: float | None) -> float | None:
    if limit is None:
        return cap
    return limit if cap is None else min(limit, cap)


def stream_limits(settings: ClientSettings) -> tuple[float | None, float | None]:
    """A stream's longest silences: before its first event, and between events after it.

    Both are also bounded by the read timeout; None is no limit.
    """
    read = settings.timeout.read
    return (
        _at_most(settings.first_byte_timeout, read),
        _at_most(settings.stream_idle_timeout, read),
    )


def stream_timeout(settings: ClientSettings) -> httpx.Timeout:
    """httpx's per-read timeout for a stream: the longer of its two limits (the stream reader
    and its watchdog enforce whichever applies at the moment)."""
    timeout = settings.timeout
    first, idle = stream_limits(settings)
    read = None if first is None or idle is None else max(first, idle)
    if read == timeout.read:
        return timeout.httpx()
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


def failure(
    status: int, headers: httpx.Headers, content: bytes, secret: str
) -> tuple[ModelsLabError, float | None]:
    """The typed error for an error response, with the server's retry hint if it gave one."""
    if 300 <= status < 400:
        location = headers.get("location", "?")
        error: ModelsLabError = UnexpectedResponseError(
            f"ModelsLab redirected the request to {location!r}; redirects are not followed "
            "because they would resend the API key. Check base_url.",
            status_code=status,
        )
        return error, None
    error = error_from_response(status, content, headers, secret=secret)
    body: Any = getattr(error, "body", None)
    return error, parse_retry_after(headers, body if isinstance(body, dict) else None)


def decode_json(status: int, headers: httpx.Headers, content: bytes, secret: str) -> Any:
    """The JSON value of a successful response; raises the typed error for anything else."""
    if status >= 300:
        raise failure(status, headers, content, secret)[0]
    try:
        value = json.loads(content)
    except ValueError:
        raise error_from_response(status, content, headers, secret=secret) from None
    error = error_from_payload(value, status=status, secret=secret)
    if error is not None:
        raise error
    return value


def is_event_stream(headers: httpx.Headers) -> bool:
    """True when the server answered with SSE rather than one JSON body."""
    return "text/event-stream" in headers.get("content-type", "")


def completion_events(completion: ChatCompletion) -> Iterator[StreamEvent]:
    """Replay a whole completion as stream events (a server may ignore `stream: true`)."""
    yield StreamStart(completion.id, completion.model, completion.created)
    for choice in completion.choices:
        if choice.reasoning:
            yield ReasoningDelta(choice.reasoning, choice.index)
        if choice.content:
            yield TextDelta(choice.content, choice.index)
        for position, call in enumerate(choice.tool_calls):
            yield ToolCallDelta(position, call.id, call.name, call.arguments, choice.index)
        yield FinishEvent(choice.finish_reason, choice.index, choice.reasoning_state)
    if completion.usage is not None:
        yield UsageEvent(completion.usage)


def log_attempt(
    method: str,
    url: str,
    status: int | None,
    attempt: int,
    started: float,
    error: ModelsLabError | None,
) -> None:
    if not logger.isEnabledFor(10):
        return
    elapsed = (time.monotonic() - started) * 1000
    outcome = status if error is None else type(error).__name__
    logger.debug("%s %s -> %s (attempt %d, %.0f ms)", method, url, outcome, attempt + 1, elapsed)
