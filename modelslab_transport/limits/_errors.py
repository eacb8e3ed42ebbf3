"""The limiter's own failures: a request that could not get an in-flight slot (nothing sent).
Exported from `modelslab_transport` with every other typed error."""

from __future__ import annotations

from .._errors import ModelsLabError

__all__ = [
    "EventLoopBlockedError",
    "LimiterError",
    "LimiterTimeoutError",
    "LimiterUnavailableError",
]


class LimiterError(ModelsLabError):
    """A request could not get an in-flight slot; nothing was sent."""


class LimiterTimeoutError(LimiterError):
    """No slot came free within the wait timeout (every slot of this key stayed busy)."""


class LimiterUnavailableError(LimiterError):
    """The shared limiter's store (Redis) is down, unreachable or refused the command."""


class EventLoopBlockedError(LimiterError):
    """A sync call on an event loop's thread while that loop's async calls hold every slot:
    waiting would block the loop that frees them. Await the async method instead."""
