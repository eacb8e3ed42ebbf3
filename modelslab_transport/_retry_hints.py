"""How long the server asks us to wait before a retry: Retry-After (seconds or an HTTP date),
retry-after-ms, x-ratelimit-reset, and the same hints inside an error body (OpenRouter's
`error.metadata.headers`)."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["header", "parse_retry_after"]

_V = TypeVar("_V")


def parse_retry_after(headers: Mapping[str, str], body: object) -> float | None:
    """Seconds the server asks us to wait, from headers or body; None when it gives no hint.

    OpenRouter puts the upstream's rate-limit headers inside the body, in
    `error.metadata.headers`; they are honoured like the same HTTP headers, after them.
    """
    inner = body.get("error") if isinstance(body, Mapping) else None
    inner = inner if isinstance(inner, Mapping) else {}
    metadata = inner.get("metadata")
    embedded = metadata.get("headers") if isinstance(metadata, Mapping) else None
    sources = (headers, embedded) if isinstance(embedded, Mapping) else (headers,)
    value = _first(_retry_after_header(source) for source in sources)
    if value is None and isinstance(body, Mapping):
        value = _first(_number(part.get("retry_after")) for part in (body, inner))
    if value is None:
        value = _first(_reset_in(header(source, "x-ratelimit-reset")) for source in sources)
    return None if value is None else max(value, 0.0)


def _first(values: Iterable[float | None]) -> float | None:
    return next((value for value in values if value is not None), None)


def _retry_after_header(headers: Mapping[str, object]) -> float | None:
    value = _number(header(headers, "retry-after-ms"))
    if value is not None:
        return value / 1000.0
    raw = header(headers, "retry-after")
    value = _number(raw)
    return _seconds_until_date(raw) if value is None and isinstance(raw, str) else value


def _reset_in(raw: object) -> float | None:
    value = _number(raw)
    if value is not None and value > 1e12:  # an epoch time in milliseconds
        return value / 1000.0 - time.time()
    if value is not None and value > 1e9:  # an epoch time in seconds
        return value - time.time()
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().lower()
        scale = 1.0
        if value.endswith("ms"):
            value, scale = value[:-2], 0.001
        elif value.endswith("s"):
            value = value[:-1]
        try:
            number = float(value) * scale
        except ValueError:
            return None
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def _seconds_until_date(value: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        return when.timestamp() - time.time()
    except (OverflowError, OSError, ValueError):
        return None


def header(headers: Mapping[str, _V], name: str) -> _V | None:
    """Case-insensitive header lookup that also works on a plain dict."""
    value = headers.get(name)
    if value is None:
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == name:
                return item
    return value
