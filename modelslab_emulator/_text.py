"""Word "tokens" and conversation helpers shared by the scripted model and the endpoints."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_TOKEN = re.compile(r"\S+\s*")


def tokens(text: str) -> list[str]:
    """Split text into the emulator's tokens: `\\S+\\s*` pieces (leading whitespace is dropped)."""
    return _TOKEN.findall(text)


#: What Magistral goes on thinking after its one-line plan: 1,200 tokens, so that an answer
#: left to the API's 1000-token default is cut while still thinking (as the real one is).
DELIBERATION = " ".join(["Let me check that once more."] * 200)
#: Tokens per stream chunk inside the deliberation: a long thought costs few chunks.
BULK_PIECE = 300


def stream_pieces(text: str) -> list[str]:
    """``tokens(text)``, except that the deliberation's tokens go out ``BULK_PIECE`` at a time."""
    start = text.find(DELIBERATION[:40])
    if start < 0:
        return tokens(text)
    end = start + len(DELIBERATION)
    pieces: list[str] = []
    bulk: list[str] = []
    for match in _TOKEN.finditer(text):
        if start <= match.start() < end:
            bulk.append(match.group())
            if len(bulk) == BULK_PIECE:
                pieces.append("".join(bulk))
                bulk = []
            continue
        if bulk:
            pieces.append("".join(bulk))
            bulk = []
        pieces.append(match.group())
    if bulk:
        pieces.append("".join(bulk))
    return pieces


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(_TOKEN.findall(text))


def first_tokens(text: str, limit: int) -> str:
    """The first ``limit`` tokens of ``text``, trailing whitespace removed."""
    return "".join(_TOKEN.findall(text)[:limit]).rstrip()


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or the text parts of a list joined by a space."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(text for text in map(_part_text, content) if text is not None)
    return ""


def _part_text(part: Any) -> str | None:
    """A content part's text: a string part, or a ``text`` part's (a part with no type is one)."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and part.get("type", "text") == "text":
        text = part.get("text")
        return text if isinstance(text, str) else None
    return None


def last_user_index(messages: Sequence[dict[str, Any]]) -> int:
    """Index of the last ``role: user`` message, or -1."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return -1


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    """Text of the last user message ("" when there is none)."""
    index = last_user_index(messages)
    return content_text(messages[index].get("content")) if index >= 0 else ""


def prompt_tokens(messages: Sequence[dict[str, Any]], system: str = "") -> int:
    """Prompt size: tokens of every message's text (plus an optional system text)."""
    return count_tokens(system) + sum(
        count_tokens(content_text(m.get("content"))) for m in messages
    )
