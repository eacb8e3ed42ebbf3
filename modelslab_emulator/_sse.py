"""Server-sent events: rendering events to bytes and applying stream-shaped faults."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._scenarios import Scenarios

DONE = "[DONE]"


def encode_json(obj: Any) -> str:
    """Compact JSON text with non-ASCII characters left as they are (UTF-8 on the wire)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class SseStyle:
    """Line endings, ``data:`` spacing and multi-line data of the rendered stream."""

    line_end: str = "\n"
    space: bool = True
    multiline: bool = False

    @classmethod
    def for_scenarios(cls, scenarios: Scenarios) -> SseStyle:
        """The style selected by ``crlf`` / ``cr`` / ``no-space`` / ``multiline-data``."""
        line_end = "\r\n" if scenarios.has("crlf") else "\r" if scenarios.has("cr") else "\n"
        return cls(line_end, not scenarios.has("no-space"), scenarios.has("multiline-data"))

    def event(self, data: Any, name: str | None = None) -> bytes:
        """One event: optional ``event:`` line, one or more ``data:`` lines, a blank line."""
        space = " " if self.space else ""
        lines = [f"event:{space}{name}"] if name else []
        if isinstance(data, str):
            payload = [data]
        elif self.multiline and isinstance(data, dict) and len(data) > 1:
            items = [f"{encode_json(k)}:{encode_json(v)}" for k, v in data.items()]
            payload = ("{" + ",\n".join(items) + "}").split("\n")
        else:
            payload = [encode_json(data)]
        lines.extend(f"data:{space}{line}" for line in payload)
        return (self.line_end.join(lines) + self.line_end * 2).encode("utf-8")

    def comment(self, text: str) -> bytes:
        """An SSE comment line (``: text``) followed by a blank line."""
        return f": {text}{self.line_end}{self.line_end}".encode()


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event: a JSON payload (or raw text such as ``[DONE]``) and an optional name."""

    data: Any
    name: str | None = None


@dataclass(frozen=True)
class StreamPlan:
    """A complete, fault-free stream: content events, finishing events, and ``[DONE]``."""

    body: list[StreamEvent]
    tail: list[StreamEvent]
    done: bool = True
    comment: str | None = None
    error_event: StreamEvent = field(
        default_factory=lambda: StreamEvent(
            {"status": "error", "message": "Provider returned error"}
        )
    )
    #: Events that end a stream early, by scenario name (``finish-error``, ...).
    endings: dict[str, StreamEvent] = field(default_factory=dict)


#: Stream endings after ``after`` content chunks; the first active one applies.
ENDINGS = (
    "error-mid-stream",
    "drop-mid-stream",
    "truncated",
    "finish-error",
    "object-error-mid-stream",
    "openrouter-error-mid-stream",
    "cut-mid-line",
)


def apply_faults(plan: StreamPlan, scenarios: Scenarios) -> tuple[list[StreamEvent], bool]:
    """The events actually sent, and whether the connection is then dropped abruptly."""
    done = [StreamEvent(DONE)] if plan.done else []
    for name in ENDINGS:
        if scenarios.has(name):
            after = max(0, int(scenarios.number(name, "after", 3)))
            head = plan.body[:after]
            if name == "error-mid-stream":
                return [*head, plan.error_event, *done], False
            ending = plan.endings.get(name)
            if ending is not None:
                # OpenRouter ends the stream right after its error chunk; others may add [DONE].
                keep = name != "openrouter-error-mid-stream"
                keep = keep and scenarios.param(name, "done", "1") != "0"
                return [*head, ending, *(done if keep else [])], False
            return head, name == "drop-mid-stream"
    if scenarios.has("no-done"):
        return [*plan.body, *plan.tail], False
    return [*plan.body, *plan.tail, *done], False
