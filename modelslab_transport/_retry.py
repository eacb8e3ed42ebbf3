"""When to send a request again, and how long to wait first: one policy for both clients."""

from __future__ import annotations

import logging
import random
import time

from ._errors import ModelsLabError, RateLimitError
from ._limiter import slots_for_key
from ._settings import ClientSettings

__all__ = ["Retries", "backoff", "log_attempt", "logger", "retry_delay"]

logger = logging.getLogger("modelslab_transport")

_BASE_DELAY = 0.5
_MAX_BACKOFF = 8.0


def backoff(attempt: int) -> float:
    """Exponential backoff for retry `attempt` (0-based), capped at 8 s, with jitter."""
    delay = min(_BASE_DELAY * 2.0**attempt, _MAX_BACKOFF)
    return delay * (1.0 - 0.25 * random.random())


def retry_delay(
    error: ModelsLabError, attempt: int, settings: ClientSettings, *, queued: float = 0.0
) -> float | None:
    """Seconds to wait before sending again after `error`, or None when it must be raised now.

    `attempt` counts the attempts already failed, from 0. Whether the failure is worth a retry
    is the error's own `is_retryable`; a server hint (Retry-After and friends) longer than
    `max_retry_wait` is not worth waiting for: the error is raised at once.

    A 429 saying the account's queue is full (`RateLimitError.queue_full`) was never run, so
    it is resent apart from `max_retries`, after its `retry_after`, while the time `queued`
    waiting so far for such refusals stays within `queue_wait_budget` (a single hint longer
    than `max_retry_wait` is still raised at once).
    """
    if isinstance(error, RateLimitError) and error.queue_full:
        return _queue_delay(error, attempt, settings, queued)
    if attempt >= settings.max_retries or not error.is_retryable:
        return None
    hint = error.retry_after
    if hint is not None:
        return None if hint > settings.max_retry_wait else hint
    return backoff(attempt)


def _queue_delay(
    error: RateLimitError, attempt: int, settings: ClientSettings, queued: float
) -> float | None:
    limit = error.queue_limit
    if limit is not None and limit >= 1 and settings.learn_queue_limit:  # 0 would stop all
        learn_queue_limit(settings, limit)
    hint = error.retry_after
    if hint is not None and hint > settings.max_retry_wait:
        return None  # one wait longer than max_retry_wait is not worth it, as for any 429
    delay = backoff(min(attempt, 4)) if hint is None else hint
    return None if queued + delay > settings.queue_wait_budget else delay


def learn_queue_limit(settings: ClientSettings, limit: int) -> None:
    """Lower this process's in-flight limit for the key to the plan's stated queue limit."""
    current = settings.max_concurrent_requests
    if current is not None and current <= limit:
        return
    if slots_for_key(settings.api_key.get_secret_value()).learn(limit):
        logger.warning(
            "ModelsLab refused a request: this plan queues at most %d requests; this process "
            "now holds at most %d in flight for the key (set max_concurrent_requests to choose)",
            limit,
            limit,
        )


class Retries:
    """One request's retry state: failed attempts and the time spent waiting on a full queue.

    >>> retries = Retries(settings)  # doctest: +SKIP
    >>> delay = retries.delay(error)  # None: raise it
    """

    __slots__ = ("attempt", "queued", "settings")

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.attempt = 0
        self.queued = 0.0

    def delay(self, error: ModelsLabError) -> float | None:
        """Seconds before the next attempt after `error`, or None when it is the answer."""
        queue_full = isinstance(error, RateLimitError) and error.queue_full
        delay = retry_delay(error, self.attempt, self.settings, queued=self.queued)
        if delay is not None:
            if queue_full:
                self.queued += delay  # a refusal never run does not spend max_retries
            else:
                self.attempt += 1
        return delay


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
