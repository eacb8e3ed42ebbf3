"""When to send a request again, and how long to wait first: one policy for both clients."""

from __future__ import annotations

import logging
import random
import time
from typing import NamedTuple

from ._errors import ModelsLabError, RateLimitError
from ._settings import ClientSettings

__all__ = [
    "Decision",
    "Retries",
    "backoff",
    "log_attempt",
    "logger",
    "retry_delay",
]

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
    hint = error.retry_after
    if hint is not None and hint > settings.max_retry_wait:
        return None  # one wait longer than max_retry_wait is not worth it, as for any 429
    delay = backoff(min(attempt, 4)) if hint is None else hint
    return None if queued + delay > settings.queue_wait_budget else delay


class Decision(NamedTuple):
    """What the policy decided after a failure: seconds before the next attempt (None: raise
    the error), and the queue limit the failure taught (None: nothing). It writes no state:
    the client hands `learned_limit` to its limiter."""

    delay: float | None
    learned_limit: int | None


class Retries:
    """One request's retry state: failed attempts and the time spent waiting on a full queue.

    >>> retries = Retries(settings)  # doctest: +SKIP
    >>> decision = retries.decide(error)  # decision.delay None: raise it
    """

    __slots__ = ("attempt", "queued", "settings")

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.attempt = 0
        self.queued = 0.0

    def decide(self, error: ModelsLabError) -> Decision:
        """After `error`: the delay before the next attempt (None when it is the answer) and
        the plan's queue limit a full-queue 429 stated (None: none, or `learn_queue_limit` off)."""
        full = error if isinstance(error, RateLimitError) and error.queue_full else None
        delay = retry_delay(error, self.attempt, self.settings, queued=self.queued)
        if delay is not None:
            if full is not None:
                self.queued += delay  # a refusal never run does not spend max_retries
            else:
                self.attempt += 1
        limit = full.queue_limit if full is not None and self.settings.learn_queue_limit else None
        return Decision(delay, limit if limit and limit >= 1 else None)  # 0 would stop them all


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
