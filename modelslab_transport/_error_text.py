"""Readable one-line text from error bodies: scrubbing, rendering, HTML titles, truncation."""

from __future__ import annotations

import html
import http
import re
from collections.abc import Mapping
from typing import Any

from ._retry_after import header

__all__ = [
    "REDACTED",
    "html_title",
    "looks_like_html",
    "message_of",
    "one_line",
    "reason",
    "render",
    "scrub",
    "scrub_obj",
    "truncate",
]

REDACTED = "[REDACTED]"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h[1-3][^>]*>(.*?)</h[1-3]\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_MAX_DEPTH = 32


def scrub(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by "[REDACTED]"."""
    return text.replace(secret, REDACTED) if secret and secret in text else text


def message_of(obj: object) -> str:
    if not isinstance(obj, dict):
        return render(obj)
    for key in ("message", "messege", "error", "detail", "msg", "errors"):
        text = render(obj.get(key))
        if text:
            return text
    return ""


def render(value: object, depth: int = 0) -> str:
    """A message that may be a string, a list or a dict, as one readable line."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if depth > _MAX_DEPTH:
        return "…"
    if isinstance(value, (list, tuple)):
        return "; ".join(part for part in (render(item, depth + 1) for item in value) if part)
    if isinstance(value, dict):
        if "message" in value or "msg" in value:
            return render(value.get("message") or value.get("msg"), depth + 1)
        parts = []
        for key, item in value.items():
            text = render(item, depth + 1)
            if text:
                parts.append(f"{key}: {text}")
        return "; ".join(parts)
    return str(value)


def scrub_obj(obj: Any, secret: str | None, depth: int = 0) -> Any:
    """A copy of a decoded JSON value with `secret` scrubbed from every string in it."""
    if not secret:
        return obj
    if isinstance(obj, str):
        return scrub(obj, secret)
    if depth > _MAX_DEPTH and isinstance(obj, (list, dict)):
        return "…"  # absurdly deep bodies are cut rather than risk a RecursionError
    if isinstance(obj, list):
        return [scrub_obj(item, secret, depth + 1) for item in obj]
    if isinstance(obj, dict):
        return {scrub(str(k), secret): scrub_obj(v, secret, depth + 1) for k, v in obj.items()}
    return obj


def looks_like_html(text: str, headers: Mapping[str, str]) -> bool:
    if "html" in (header(headers, "content-type") or "").lower():
        return True
    head = text[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head


def html_title(text: str) -> str:
    for pattern in (_TITLE, _HEADING):
        found = pattern.search(text, 0, 20_000)
        if found:
            title = one_line(html.unescape(_TAG.sub(" ", found.group(1))))
            if title:
                return truncate(title, 200)
    return ""


def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
