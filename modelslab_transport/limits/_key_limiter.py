"""The one way a client gets its limiter: `limiter_for(url, key, ...)` for the three kinds
(this process, this machine: the default, or a Redis shared by every machine), each kind's
gate kept once per key in `_registry`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._settings import LIMITER_URL_ENV
from ._slots import KeySlots, slots_for_key
from ._url import MACHINE_LIMITER, PROCESS_LIMITER, check_url

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager, AbstractContextManager

    from ._machine import MachineSlots
    from ._protocol import Limiter
    from .redis import RedisSlots

__all__ = ["KeyLimiter", "learn_queue_limit", "limiter_for"]

logger = logging.getLogger("modelslab_transport")


@dataclass(frozen=True, eq=False)
class KeyLimiter:
    """A key's limiter: its shared gate (machine or Redis) when there is one, else this
    process's `KeySlots` alone. What a 429 taught is kept in the process's `KeySlots`, so every
    client of the key in this process learns it at once."""

    local: KeySlots
    shared: RedisSlots | MachineSlots | None = None
    acquire_timeout: float | None = None

    def hold(self, limit: int | None) -> AbstractContextManager[None]:
        if self.shared is not None:
            return self.shared.hold(limit)
        return self.local.hold(limit, self.acquire_timeout)

    def hold_async(self, limit: int | None) -> AbstractAsyncContextManager[None]:
        if self.shared is not None:
            return self.shared.hold_async(limit)
        return self.local.hold_async(limit, self.acquire_timeout)

    def learn(self, limit: int) -> bool:
        return self.local.learn(limit)

    @property
    def learned(self) -> int | None:
        return self.local.learned


def limiter_for(
    url: str | None,
    api_key: str,
    *,
    base_url: str,
    fallback: bool = False,
    acquire_timeout: float | None = None,
) -> KeyLimiter:
    """The limiter `limiter_url` names for this key (None: `MODELSLAB_LIMITER_URL`, else
    'machine'): 'machine' (this machine's processes; this process alone, with one WARNING,
    where file locks cannot work), 'process', or a Redis URL (`fallback`: this process's slots
    while Redis is down). Each kind keeps one gate per key (by its hash), so clients of one key
    share it."""
    url = url or os.environ.get(LIMITER_URL_ENV) or None
    check_url(url)
    local = slots_for_key(api_key)
    if url in (None, MACHINE_LIMITER):
        from ._machine import machine_slots  # None where it cannot work (logged)

        shared = machine_slots(api_key, base_url, acquire_timeout=acquire_timeout)
        return KeyLimiter(local, shared, acquire_timeout)
    if url == PROCESS_LIMITER:
        return KeyLimiter(local, None, acquire_timeout)
    from .redis import redis_slots  # redis loads only when asked for

    redis = redis_slots(url, api_key, acquire_timeout=acquire_timeout, fallback_to_local=fallback)
    return KeyLimiter(local, redis, acquire_timeout)


def learn_queue_limit(limiter: Limiter, limit: int, configured: int | None) -> None:
    """Lower the key's in-flight limit to the plan's stated queue limit (a 429's), unless the
    `configured` max_concurrent_requests is already within it."""
    if configured is not None and configured <= limit:
        return
    if limiter.learn(limit):
        logger.warning(
            "ModelsLab refused a request: this plan queues at most %d requests; this process "
            "now holds at most %d in flight for the key (set max_concurrent_requests to choose)",
            limit,
            limit,
        )
