"""Limits on one API key's requests in flight: the `Limiter` protocol a client holds a slot of
around each attempt, and its three kinds, all reached through `limiter_for`: this process
(`KeySlots`), this machine's processes (the default, file locks), a Redis (`limits.redis`,
the `redis` extra)."""

from __future__ import annotations

from ._key_limiter import KeyLimiter, learn_queue_limit, limiter_for
from ._protocol import Limiter
from ._slots import AsyncHeldSlot, HeldSlot, KeySlots, slots_for_key
from ._url import (
    MACHINE_LIMITER,
    PROCESS_LIMITER,
    check_url,
    limiter_url_has_password,
    masked_limiter_url,
)

__all__ = [
    "MACHINE_LIMITER",
    "PROCESS_LIMITER",
    "AsyncHeldSlot",
    "HeldSlot",
    "KeyLimiter",
    "KeySlots",
    "Limiter",
    "check_url",
    "learn_queue_limit",
    "limiter_for",
    "limiter_url_has_password",
    "masked_limiter_url",
    "slots_for_key",
]
