"""The one process-wide registry of limiter gates: one per kind and key (the key by its hash),
so every client of a key in this process shares its gate. `slots_for_key`, `machine_slots`
and `redis_slots` look theirs up here; `limiter_for` is how a client reaches them."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar, cast

__all__ = ["gates_of", "one_per"]

_T = TypeVar("_T")

_gates: dict[tuple[object, ...], object] = {}
# Reentrant: a gate's builder may look up another gate (a shared gate's in-process slots).
_lock = threading.RLock()


def one_per(key: tuple[object, ...], build: Callable[[], _T]) -> _T:
    """The gate registered under `key` (kind first, then what tells two apart), built by
    `build` on first use; a `build` that raises registers nothing."""
    with _lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = build()
        return cast("_T", gate)


def gates_of(kind: type[_T]) -> list[_T]:
    """Every registered gate of this type (for a forked child's reset)."""
    return [gate for gate in list(_gates.values()) if isinstance(gate, kind)]


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # a thread of the parent may have held it at the fork


if hasattr(os, "register_at_fork"):  # not on Windows, which never forks
    os.register_at_fork(after_in_child=_after_fork_in_child)
