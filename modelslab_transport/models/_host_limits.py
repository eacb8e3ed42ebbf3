"""What hosts have said about their limits, remembered process-wide per (base URL, model).

A vLLM host refuses a request whose prompt plus `max_tokens` exceeds the context it serves,
and states that context and the prompt tokens it counted. The budget learns both from the first
refusal, so later calls to the same host and model fit at once (one refusal per process, not
one per call): the served context, and how the host's count compares with our estimate.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["HostLimits", "forget_host_limits", "host_limits", "learn_host_limits"]

logger = logging.getLogger("modelslab_transport")

#: Estimates below this many tokens teach no ratio: template tokens dominate them.
_MIN_RATIO_SAMPLE = 1_000
#: The learned host/estimate ratio stays within these bounds (one odd prompt cannot run away).
_RATIO_BOUNDS = (0.5, 2.0)


@dataclass(frozen=True, slots=True)
class HostLimits:
    """What one host stated for one model: its served context and its prompt-count ratio."""

    #: The context the host serves (prompt plus `max_tokens`), or None when not stated yet.
    served_context: int | None = None
    #: The host's prompt count divided by our estimate (1.0 until a refusal states a count).
    prompt_ratio: float = 1.0


_NONE = HostLimits()
_learned: dict[tuple[str, str], HostLimits] = {}
_lock = threading.Lock()


def _key(base_url: str, model: str) -> tuple[str, str]:
    return base_url.rstrip("/"), model.lower()


def host_limits(base_url: str | None, model: str) -> HostLimits:
    """What was learned for `model` at `base_url` (nothing learned: served_context None)."""
    if base_url is None:
        return _NONE
    return _learned.get(_key(base_url, model), _NONE)  # a dict read is atomic: no lock


def learn_host_limits(
    base_url: str | None,
    model: str,
    *,
    served_context: int | None,
    counted: int | None,
    estimate: int,
) -> HostLimits:
    """Remember what a refusal stated; logged at WARNING when the served context is new.

    The log names the host (scheme, host name, port and path: no user info, no query) and the
    model, never a key or a body.
    """
    if base_url is None:
        return _NONE
    key = _key(base_url, model)
    with _lock:
        old = _learned.get(key, _NONE)
        ratio = old.prompt_ratio
        if counted is not None and estimate >= _MIN_RATIO_SAMPLE:
            low, high = _RATIO_BOUNDS
            ratio = min(high, max(low, counted / estimate))
        new = HostLimits(served_context or old.served_context, ratio)
        _learned[key] = new
    if new.served_context != old.served_context:
        logger.warning(
            "ModelsLab host %s serves %s with a %d-token context: later default max_tokens "
            "are sized to it",
            _shown(base_url),
            model,
            new.served_context,
        )
    return new


def forget_host_limits() -> None:
    """Forget everything learned (tests; a host that was reconfigured)."""
    with _lock:
        _learned.clear()


def _shown(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
