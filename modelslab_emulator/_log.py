"""The request log (keys redacted) and the per-key in-flight counters."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator answered; header names are lower-cased, secrets redacted."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    scenario: str | None
    status: int
    received_at: float


def key_fingerprint(key: str) -> str:
    """A stable, non-reversible name for an API key: ``key-`` + 12 hex digits of its SHA-256."""
    return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers with lower-cased names and secret values replaced by ``[REDACTED]``."""
    return {
        name.lower(): REDACTED if name.lower() in _SECRET_HEADERS else value
        for name, value in headers
    }


def redact_body(body: Any) -> Any:
    """A copy of a parsed body with its ``"key"`` field replaced by ``[REDACTED]``."""
    if not isinstance(body, dict) or "key" not in body:
        return body
    return {**copy.deepcopy(body), "key": REDACTED}


class RequestLog:
    """Recorded requests in arrival order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._entries: dict[int, RecordedRequest] = {}

    def ticket(self) -> int:
        """An arrival number, taken when a request arrives."""
        with self._lock:
            self._next += 1
            return self._next

    def add(self, ticket: int, entry: RecordedRequest) -> None:
        """Record a request once its status is known."""
        with self._lock:
            self._entries[ticket] = entry

    def snapshot(self) -> list[RecordedRequest]:
        """The recorded requests, in arrival order."""
        with self._lock:
            return [self._entries[t] for t in sorted(self._entries)]

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()


class InFlight:
    """Requests being served right now, the highest counts seen and the 429s sent, per key
    fingerprint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, int] = {}
        self._max: dict[str, int] = {}
        self._refused: dict[str, int] = {}
        self._total = 0
        self._max_total = 0
        self._open: dict[str, int] = {}

    def enter(self, fingerprint: str, limit: int | None = None) -> int | None:
        """Count a request in; returns how many are now in flight for this key, or None (not
        counted) when ``limit`` are in flight already: checked and counted under one lock, so
        concurrent arrivals can never all pass, and a refused request never raises a peak."""
        with self._lock:
            if limit is not None and self._current.get(fingerprint, 0) >= limit:
                return None
            now = self._current.get(fingerprint, 0) + 1
            self._current[fingerprint] = now
            self._max[fingerprint] = max(self._max.get(fingerprint, 0), now)
            self._total += 1
            self._max_total = max(self._max_total, self._total)
            return now

    def leave(self, fingerprint: str) -> None:
        """Count a request out."""
        with self._lock:
            self._current[fingerprint] -= 1
            self._total -= 1

    def stream_opened(self, fingerprint: str) -> None:
        """A stream's headers went out: its connection carries it until `stream_closed`."""
        with self._lock:
            self._open[fingerprint] = self._open.get(fingerprint, 0) + 1

    def stream_closed(self, fingerprint: str) -> None:
        """A stream ended: its last byte written, or its connection seen closed."""
        with self._lock:
            self._open[fingerprint] -= 1

    def open_streams(self) -> dict[str, int]:
        """Streams whose connection is still open, per key fingerprint."""
        with self._lock:
            return {k: v for k, v in self._open.items() if v}

    def refused(self, fingerprint: str) -> None:
        """Count a 429 sent to this key."""
        with self._lock:
            self._refused[fingerprint] = self._refused.get(fingerprint, 0) + 1

    def refusals(self) -> dict[str, int]:
        """429s sent per key fingerprint."""
        with self._lock:
            return dict(self._refused)

    def maxima(self) -> dict[str, int]:
        """Highest in-flight count seen per key fingerprint."""
        with self._lock:
            return dict(self._max)

    def max_total(self) -> int:
        """Highest in-flight count seen over all keys."""
        with self._lock:
            return self._max_total

    def current(self) -> dict[str, int]:
        """Requests in flight now, per key fingerprint."""
        with self._lock:
            return {k: v for k, v in self._current.items() if v}

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        """Peaks and 429s per key fingerprint, read at one instant (then reset, if asked)."""
        with self._lock:
            stats = {
                "max_in_flight": dict(self._max),
                "max_in_flight_total": self._max_total,
                "rate_limited": dict(self._refused),
                "in_flight": {k: v for k, v in self._current.items() if v},
                "open_streams": {k: v for k, v in self._open.items() if v},
            }
            if reset:
                self._restart()
            return stats

    def reset(self) -> None:
        """Restart the maxima from the current counts; forget the 429s."""
        with self._lock:
            self._restart()

    def _restart(self) -> None:
        self._refused.clear()
        self._max = {k: v for k, v in self._current.items() if v}
        self._max_total = self._total
