"""The in-flight limit shared through Redis (the `redis` extra): `redis_slots(url, key)`.

Redis itself is imported on first use, never by importing this package."""

from __future__ import annotations

from ._slots import RedisSlots, redis_slots
from ._store import RedisLimiterSettings

__all__ = ["RedisLimiterSettings", "RedisSlots", "redis_slots"]
