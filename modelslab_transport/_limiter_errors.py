"""Errors of the shared (Redis) limiter: a slot wait that timed out, a store that is down.

They live apart from `_errors.py` until the limiter is wired into the clients; they then move
there, next to the other client-side failures.
"""

from __future__ import annotations

from ._errors import ModelsLabError

__all__ = ["LimiterError", "LimiterTimeoutError", "LimiterUnavailableError"]


class LimiterError(ModelsLabError):
    """A request could not get an in-flight slot; nothing was sent."""


class LimiterTimeoutError(LimiterError):
    """No slot came free within the wait timeout (every slot of this key stayed busy)."""


class LimiterUnavailableError(LimiterError):
    """The shared limiter's store (Redis) is down, unreachable or refused the command."""
