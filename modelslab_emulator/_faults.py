"""Whole-reply faults chosen by a scenario: 429, 5xx, HTML 502, 402, 403, queue, redirect..."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from ._errors import ApiError, error_body
from ._scenarios import Scenarios
from ._sse import DONE, SseStyle, encode_json

RATE_LIMIT_MESSAGE = "Rate limit exceeded. Maximum 5 queued requests allowed."
CREDITS_MESSAGE = "Insufficient credits. Please add more credits to continue."
PROVIDER_ERROR = "Provider returned error"
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_REASONS.update({504: "Gateway Timeout", 408: "Request Timeout", 409: "Conflict"})
_REASONS[422] = "Unprocessable Entity"
_HTML = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Reply:
    """A complete (non-streamed) HTTP reply."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, encode_json(obj).encode("utf-8"), headers=headers or {})


def error_reply(error: ApiError, shape: str) -> Reply:
    """An error reply in ``shape`` (or in the error's own body, when it brings one)."""
    if error.body is not None:
        return json_reply(error.status, error.body, error.headers)
    body = error_body(
        error.message, status=error.status, shape=shape, retry_after=error.retry_after
    )
    return json_reply(error.status, body, error.headers)


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def queue_message(limit: int) -> str:
    """ModelsLab's 429 message for a key with ``limit`` requests queued already."""
    return f"Rate limit exceeded. Maximum {limit} queued requests allowed."


def rate_limited(
    scenarios: Scenarios,
    name: str = "rate-limit",
    *,
    message: str = RATE_LIMIT_MESSAGE,
    retry_after: float = 1,
) -> ApiError:
    """The 429 of ``rate-limit`` (or ``queue-limit``), with its headers; the scenario's own
    ``retry_after`` wins over the one given."""
    retry_after = scenarios.number(name, "retry_after", retry_after)
    headers: dict[str, str] = {}
    if scenarios.param(name, "header", "1") != "0":
        if scenarios.param(name, "date", "0") == "1":
            headers["Retry-After"] = formatdate(time.time() + retry_after, usegmt=True)
        else:
            headers["Retry-After"] = _seconds(retry_after)
        if scenarios.param(name, "retry_after_ms", ""):
            headers["retry-after-ms"] = scenarios.param(name, "retry_after_ms", "")
        if scenarios.param(name, "reset", "0") == "1":
            headers["X-RateLimit-Reset"] = str(int(time.time() + retry_after + 0.999))
    return ApiError(429, message, retry_after=retry_after, headers=headers)


def openrouter_rate_limit(scenarios: Scenarios) -> dict[str, Any]:
    """OpenRouter's 429: the upstream's rate-limit headers inside ``error.metadata.headers``
    (reset as epoch milliseconds), ``code`` a number or (``code_str=1``) a string."""
    name = "openrouter-429"
    reset = scenarios.number(name, "reset", 1)
    hints = {
        "X-RateLimit-Limit": "20",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int((time.time() + reset) * 1000)),
    }
    if scenarios.param(name, "retry_after", ""):
        hints["Retry-After"] = scenarios.param(name, "retry_after", "")
    code: int | str = "429" if scenarios.param(name, "code_str", "0") == "1" else 429
    return {
        "error": {
            "message": "Rate limit exceeded: free-models-per-min.",
            "code": code,
            "metadata": {"headers": hints, "provider_name": None},
        },
        "user_id": "user_emulator",
    }


def terminal_reply(scenarios: Scenarios, *, stream: bool, base_url: str, location: str) -> Reply:
    """The reply of the request's terminal scenario (``scenarios.terminal`` must be set)."""
    name = scenarios.terminal
    shape = scenarios.error_shape
    if name == "rate-limit":
        return error_reply(rate_limited(scenarios), shape)
    if name == "server-error":
        status = int(scenarios.number(name, "status", 500))
        if not 500 <= status <= 599:
            raise ApiError(400, "Emulator scenario server-error: status must be 5xx")
        headers = {}
        if scenarios.param(name, "should_retry", ""):
            headers["x-should-retry"] = scenarios.param(name, "should_retry", "")
        error = ApiError(status, _REASONS.get(status, "Server Error"), headers=headers)
        return error_reply(error, shape)
    if name == "http-error":
        status = int(scenarios.number(name, "status", 400))
        if not 400 <= status <= 599:
            raise ApiError(400, "Emulator scenario http-error: status must be 4xx or 5xx")
        default = _REASONS.get(status, f"HTTP error {status}")
        return error_reply(ApiError(status, scenarios.param(name, "message", default)), shape)
    if name == "html-502":
        status = int(scenarios.number(name, "status", 502))
        page = _HTML.format(status=status, reason=_REASONS.get(status, "Bad Gateway"))
        return Reply(status, page.encode(), "text/html", {"Server": "nginx"})
    if name == "insufficient-credits":
        return error_reply(ApiError(402, CREDITS_MESSAGE), shape)
    if name == "forbidden":
        message = "Forbidden: this API key may not use this resource."
        return error_reply(ApiError(403, message), shape)
    if name == "processing":
        ident = int(time.time() * 1000) % 10**9
        body = {
            "status": "processing",
            "message": "Request is being processed",
            "fetch_result": f"{base_url}/fetch/{ident}",
            "eta": 5,
            "id": ident,
        }
        return json_reply(200, body)
    if name == "non-json-200":
        # OpenRouter has answered 200 with whitespace and a dot: a gateway failure.
        text = scenarios.param(name, "body", "\n  \n.")
        return Reply(200, text.encode(), "application/json")
    if name == "openrouter-429":
        return json_reply(429, openrouter_rate_limit(scenarios))
    if name == "error-string":
        # {"error": "<plain string>"}: read as the error's message by ModelsLab's own CLI
        status = int(scenarios.number(name, "status", 400))
        if not 400 <= status <= 599:
            raise ApiError(400, "Emulator scenario error-string: status must be 4xx or 5xx")
        default = _REASONS.get(status, f"HTTP error {status}")
        return json_reply(status, {"error": scenarios.param(name, "message", default)})
    if name == "redirect":
        page = f'<html><body>Moved to <a href="{location}">here</a></body></html>'
        return Reply(302, page.encode(), "text/html", {"Location": location})
    # error-200: a provider error with HTTP 200, as JSON or as the stream's first event
    body = error_body(PROVIDER_ERROR, status=200, shape=shape)
    if not stream:
        return json_reply(200, body)
    style = SseStyle.for_scenarios(scenarios)
    events = style.comment("OPENROUTER PROCESSING") + style.event(body) + style.event(DONE)
    return Reply(200, events, "text/event-stream")
