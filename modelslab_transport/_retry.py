"""When to try a request again, and how long to wait first: one retry policy for both clients."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import NoReturn

import httpx

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    BadGatewayError,
    ModelsLabError,
    RateLimitError,
)
from ._settings import ClientSettings

__all__ = [
    "RETRY_STATUSES",
    "RetrySignal",
    "ask_retry",
    "backoff",
    "error_from_transport",
    "retry_delay",
]

RETRY_STATUSES = frozenset({408, 409, 429})
_BASE_DELAY = 0.5
_MAX_BACKOFF = 8.0


def backoff(attempt: int) -> float:
    """Exponential backoff for retry `attempt` (0-based), capped at 8 s, with jitter."""
    delay = min(_BASE_DELAY * 2.0**attempt, _MAX_BACKOFF)
    return delay * (1.0 - 0.25 * random.random())


def _status_is_retryable(status: int, headers: Mapping[str, str]) -> bool:
    should = headers.get("x-should-retry")
    if should == "true":
        return True
    if should == "false":
        return False
    return status in RETRY_STATUSES or status >= 500


def retry_delay(
    error: ModelsLabError,
    *,
    attempt: int,
    max_retries: int,
    max_wait: float,
    headers: Mapping[str, str] | None = None,
    server_hint: float | None = None,
    resend_safe: bool = True,
) -> float | None:
    """Seconds to wait before retrying after `error`, or None when it must be raised now.

    `attempt` counts the attempts already failed, from 0. A server hint (Retry-After and
    friends) longer than `max_wait` is not worth waiting for: the error is raised at once.
    """
    if attempt >= max_retries:
        return None
    if isinstance(error, APIConnectionError):
        if not resend_safe:
            return None
    elif isinstance(error, BadGatewayError) or (
        isinstance(error, RateLimitError) and (error.status_code or 0) < 400
    ):
        # A 2xx that is not a response is a gateway failure, retried like a 502; a rate limit
        # is retried after its hint even when a gateway wrapped it in HTTP 200 or an event.
        pass
    elif error.status_code is None or not _status_is_retryable(error.status_code, headers or {}):
        return None
    hint = server_hint
    if hint is None and isinstance(error, RateLimitError):
        hint = error.retry_after
    if hint is not None:
        return None if hint > max_wait else hint
    return backoff(attempt)


def error_from_transport(
    exc: httpx.HTTPError, *, streaming: bool
) -> tuple[APIConnectionError, bool]:
    """Type an httpx failure, and say whether sending again is safe (cannot bill twice)."""
    resend_safe = True
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        error: APIConnectionError = APITimeoutError(f"Timed out connecting to ModelsLab: {exc}")
    elif isinstance(exc, httpx.TimeoutException):
        what = (
            "waiting for the stream to start (first_byte_timeout, capped by the read timeout)"
            if streaming
            else "waiting for ModelsLab's answer"
        )
        error = APITimeoutError(f"Timed out {what} ({type(exc).__name__})")
        # The request was sent and may be running (and billed): do not send it again.
        resend_safe = False
    elif isinstance(exc, httpx.ConnectError):
        error = APIConnectionError(f"Could not connect to ModelsLab: {exc}")
    else:
        error = APIConnectionError(f"Connection to ModelsLab failed: {type(exc).__name__}: {exc}")
    return error, resend_safe


class RetrySignal(Exception):
    """Internal signal: the stream failed before delivering anything and may be retried."""

    def __init__(self, error: ModelsLabError, delay: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


def ask_retry(
    error: ModelsLabError,
    attempt: int,
    settings: ClientSettings,
    headers: Mapping[str, str] | None = None,
    hint: float | None = None,
    *,
    resend_safe: bool = True,
) -> NoReturn:
    """Raise `RetrySignal` if the failure may be retried, else the error itself."""
    delay = retry_delay(
        error,
        attempt=attempt,
        max_retries=settings.max_retries,
        max_wait=settings.max_retry_wait,
        headers=headers,
        server_hint=hint,
        resend_safe=resend_safe,
    )
    if delay is None:
        raise error from None
    raise RetrySignal(error, delay)
