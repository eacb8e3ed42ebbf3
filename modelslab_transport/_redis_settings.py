"""The shared limiter's settings, checked once: lease, poll, timeouts, fallback."""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import InvalidInputError

__all__ = ["MAX_SLOT_RETURN_SECONDS", "RedisLimiterSettings", "check_limit"]

# The longest a dead holder's slot may stay taken: lease_seconds + poll_seconds must fit in it.
MAX_SLOT_RETURN_SECONDS = 30.0


@dataclass(frozen=True)
class RedisLimiterSettings:
    """How the shared limiter leases, waits and fails; frozen and hashable (a cache key).

    >>> RedisLimiterSettings(lease_seconds=10.0).slot_return_bound
    11.0
    """

    lease_seconds: float = 15.0
    """A slot's time to live; renewed every third of it while its request runs."""
    poll_seconds: float = 1.0
    """A waiter's safety-net wake-up, when it re-checks for expired leases."""
    redis_timeout: float = 2.0
    """Connect timeout, and the reply timeout on top of a poll."""
    acquire_timeout: float | None = None
    """How long a caller may wait for a slot (None: as long as it takes)."""
    fallback_to_local: bool = False
    """Redis down: use the in-process limit (with a WARNING) instead of raising."""

    def __post_init__(self) -> None:
        if not self.lease_seconds >= 1.0 or not 0.0 < self.poll_seconds <= 5.0:
            raise InvalidInputError("lease_seconds must be >= 1 and poll_seconds in (0, 5]")
        if self.slot_return_bound > MAX_SLOT_RETURN_SECONDS:
            raise InvalidInputError(
                f"lease_seconds + poll_seconds must be at most {MAX_SLOT_RETURN_SECONDS:.0f}: "
                "that is how long a crashed holder's slot may stay taken"
            )
        timeout = self.acquire_timeout
        if not self.redis_timeout > 0 or (timeout is not None and not timeout > 0):
            raise InvalidInputError("redis_timeout and acquire_timeout must be positive seconds")

    @property
    def slot_return_bound(self) -> float:
        """Seconds within which a dead holder's slot is free again."""
        return self.lease_seconds + self.poll_seconds

    @property
    def lease_ms(self) -> int:
        return round(self.lease_seconds * 1000)

    @property
    def ticket_ms(self) -> int:
        # A waiter refreshes its ticket once per poll; a ticket outliving two polls is dead.
        return round((2 * self.poll_seconds + self.redis_timeout + 1.0) * 1000)

    @property
    def idle_ms(self) -> int:
        # After this long untouched, one key's state in Redis expires on its own.
        return 2 * (self.lease_ms + self.ticket_ms)


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"the in-flight limit must be an integer >= 1, not {limit!r}")
