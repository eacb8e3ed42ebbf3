"""When to send a request again, and how long to wait first: one policy for both clients."""

from __future__ import annotations

import logging
import random
import time

import httpx

from ._errors import APIConnectionError, APITimeoutError, ModelsLabError
from ._settings import ClientSettings

__all__ = ["backoff", "error_from_transport", "log_attempt", "logger", "retry_delay"]

logger = logging.getLogger("modelslab_transport")

_BASE_DELAY = 0.5
_MAX_BACKOFF = 8.0


def backoff(attempt: int) -> float:
    """Exponential backoff for retry `attempt` (0-based), capped at 8 s, with jitter."""
    delay = min(_BASE_DELAY * 2.0**attempt, _MAX_BACKOFF)
    return delay * (1.0 - 0.25 * random.random())


def retry_delay(error: ModelsLabError, attempt: int, settings: ClientSettings) -> float | None:
    """Seconds to wait before sending again after `error`, or None when it must be raised now.

    `attempt` counts the attempts already failed, from 0. Whether the failure is worth a retry
    is the error's own `is_retryable`; a server hint (Retry-After and friends) longer than
    `max_retry_wait` is not worth waiting for: the error is raised at once.
    """
    if attempt >= settings.max_retries or not error.is_retryable:
        return None
    hint = error.retry_after
    if hint is not None:
        return None if hint > settings.max_retry_wait else hint
    return backoff(attempt)


def error_from_transport(exc: httpx.HTTPError, *, streaming: bool) -> APIConnectionError:
    """Type an httpx failure; `resend_safe` says whether sending again cannot bill twice."""
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return APITimeoutError(f"Timed out connecting to ModelsLab: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        what = (
            "waiting for the stream to start (first_byte_timeout, capped by the read timeout)"
            if streaming
            else "waiting for ModelsLab's answer"
        )
        error = APITimeoutError(f"Timed out {what} ({type(exc).__name__})")
        # The request was sent and may be running (and billed): do not send it again.
        error.resend_safe = False
        return error
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError(f"Could not connect to ModelsLab: {exc}")
    return APIConnectionError(f"Connection to ModelsLab failed: {type(exc).__name__}: {exc}")


def log_attempt(
    method: str,
    url: str,
    status: int | None,
    attempt: int,
    started: float,
    error: ModelsLabError | None,
) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    elapsed = (time.monotonic() - started) * 1000
    outcome = status if error is None else type(error).__name__
    logger.debug("%s %s -> %s (attempt %d, %.0f ms)", method, url, outcome, attempt + 1, elapsed)
