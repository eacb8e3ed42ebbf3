"""A tolerant reader of recorded SSE text that keeps the framing details it saw."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"\r\n|\r|\n")


@dataclass
class SseEvent:
    """One event: its ``event:`` name (if any) and its ``data:`` lines joined by newlines."""

    name: str | None
    data: str


@dataclass
class SseText:
    """The events of a stream plus how it was framed."""

    events: list[SseEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    line_endings: set[str] = field(default_factory=set)
    data_spacing: set[str] = field(default_factory=set)


def parse_sse(text: str) -> SseText:
    """Events, comment lines, line-ending kinds and ``data:`` spacing of ``text``."""
    out = SseText()
    for ending in _LINE.findall(text):
        out.line_endings.add({"\r\n": "CRLF", "\r": "CR"}.get(ending, "LF"))
    name: str | None = None
    data: list[str] = []
    for line in _LINE.split(text):
        if not line:
            if data:
                out.events.append(SseEvent(name, "\n".join(data)))
            name, data = None, []
            continue
        if line.startswith(":"):
            out.comments.append(line[1:].strip())
            continue
        field_name, colon, value = line.partition(":")
        if not colon:
            continue
        if value.startswith(" "):
            value = value[1:]
            spacing = "space after colon"
        else:
            spacing = "no space after colon"
        if field_name == "data":
            out.data_spacing.add(spacing)
            data.append(value)
        elif field_name == "event":
            name = value
    if data:  # a last event without its blank line still counts
        out.events.append(SseEvent(name, "\n".join(data)))
    return out
