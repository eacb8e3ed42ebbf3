"""Conversations written once, framework-free: each adapter's side turns them into its own
messages (and back), `wire` into what a client that shapes nothing would send, and
`assert_nothing_lost` compares them with what reached the server."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelslab_transport import BRIDGE_TEXT

__all__ = [
    "FOLLOW_UP",
    "Call",
    "Turn",
    "assert_nothing_lost",
    "assistant",
    "one_call",
    "parallel",
    "system",
    "text_of",
    "tool",
    "user",
    "wire",
]


@dataclass(frozen=True)
class Call:
    """One tool call: the id as the framework holds it, the tool's name, its arguments."""

    id: str
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One message: its role, its text, its tool calls (assistant) or the call it answers
    (tool), and the reasoning an assistant message keeps (as each framework stores it)."""

    role: str
    text: str = ""
    calls: tuple[Call, ...] = ()
    call_id: str | None = None
    reasoning: str = ""


def system(text: str) -> Turn:
    return Turn("system", text)


def user(text: str) -> Turn:
    return Turn("user", text)


def assistant(text: str = "", *calls: Call) -> Turn:
    return Turn("assistant", text, calls)


def tool(call_id: str, text: str) -> Turn:
    return Turn("tool", text, call_id=call_id)


#: The follow-up question of a second turn.
FOLLOW_UP = "And what should I wear?"


def parallel(weather_id: str, time_id: str) -> list[Turn]:
    """Two calls in one turn, their results back in the other order (as parallel agents do)."""
    return [
        user("Use get_weather and get_time for Paris."),
        assistant(
            "",
            Call(weather_id, "get_weather", {"city": "Paris"}),
            Call(time_id, "get_time", {"city": "Paris"}),
        ),
        tool(time_id, "09:00 in Paris"),
        tool(weather_id, "sunny, 21C in Paris"),
    ]


def one_call(call_id: str, city: str) -> list[Turn]:
    return [
        assistant("", Call(call_id, "get_weather", {"city": city})),
        tool(call_id, f"sunny, 21C in {city}"),
    ]


def wire(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """The conversation as OpenAI-style messages, ids as given and nothing shaped."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        message: dict[str, Any] = {"role": turn.role, "content": turn.text}
        if turn.calls:
            message["content"] = turn.text or None
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.args)},
                }
                for c in turn.calls
            ]
        if turn.call_id is not None:
            message["tool_call_id"] = turn.call_id
        messages.append(message)
    return messages


def text_of(content: Any) -> str:
    """A wire message's text (a string, or its text parts joined as the adapters join them)."""
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return content or ""


def _answered(events: Sequence[tuple[str, str]]) -> list[int | None]:
    """For each result (in order), the position among all calls of the latest call with its
    id, or None when no call has it."""
    calls: list[str] = []
    answered: list[int | None] = []
    for kind, call_id in events:
        if kind == "call":
            calls.append(call_id)
        else:
            positions = [i for i, known in enumerate(calls) if known == call_id]
            answered.append(positions[-1] if positions else None)
    return answered


def _given_events(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    for turn in turns:
        events.extend(("call", c.id) for c in turn.calls)
        if turn.role == "tool":
            events.append(("result", str(turn.call_id)))
    return events


def _sent_events(sent: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    for message in sent:
        events.extend(("call", str(c["id"])) for c in message.get("tool_calls") or [])
        if message["role"] == "tool":
            events.append(("result", str(message.get("tool_call_id"))))
    return events


def _late_systems_moved_up(turns: Sequence[Turn]) -> list[Turn]:
    """`turns` with each system message that follows an assistant or tool message moved to the
    end of the leading system messages (what the shaping does for Mistral's tokenizer)."""
    moved: list[Turn] = []
    leading = 0
    previous: str | None = None
    for turn in turns:
        if turn.role == "system" and previous in ("assistant", "tool"):
            moved.insert(leading, turn)
            leading += 1
            continue
        if turn.role == "system" and len(moved) == leading:
            leading += 1
        moved.append(turn)
        previous = turn.role
    return moved


def assert_nothing_lost(turns: Sequence[Turn], sent: Sequence[Mapping[str, Any]]) -> None:
    """Every system and user message, every assistant text, every tool call (name and
    arguments) and every tool result reached the server, in order and word for word (a system
    message after an assistant or tool message moved up among the leading ones); each result
    still answers the call it answered; the only message added is the bridge."""
    turns = _late_systems_moved_up(turns)  # every conversation here is for Magistral
    for role in ("system", "user"):
        given = [t.text for t in turns if t.role == role]
        assert [text_of(m.get("content")) for m in sent if m["role"] == role] == given, role
    said = [t.text for t in turns if t.role == "assistant" and t.text]
    sent_said = [text_of(m.get("content")) for m in sent if m["role"] == "assistant"]
    assert [s for s in sent_said if s and s != BRIDGE_TEXT] == said
    # Only empty assistant messages are left out, and a bridge only goes between a tool result
    # and a user message.
    kept = [t for t in turns if t.role != "assistant" or t.text or t.calls]
    bridges = sum(1 for a, b in itertools.pairwise(kept) if (a.role, b.role) == ("tool", "user"))
    assert sent_said.count(BRIDGE_TEXT) == bridges and len(sent) == len(kept) + bridges
    calls = [c for t in turns for c in t.calls]
    sent_calls = [c for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert [
        (c["function"]["name"], json.loads(c["function"]["arguments"])) for c in sent_calls
    ] == [(c.name, dict(c.args)) for c in calls]
    results = [t for t in turns if t.role == "tool"]
    sent_results = [m for m in sent if m["role"] == "tool"]
    assert [text_of(m.get("content")) for m in sent_results] == [t.text for t in results]
    # Pairing: result k answers call j before shaping, and the same call j after it.
    before, after = _answered(_given_events(turns)), _answered(_sent_events(sent))
    assert None not in before and after == before, (before, after)
    # Calls of one turn keep distinct ids when they had distinct ids.
    for turn, message in zip(
        [t for t in turns if t.calls], [m for m in sent if m.get("tool_calls")], strict=True
    ):
        sent_ids = [c["id"] for c in message["tool_calls"]]
        assert len(set(sent_ids)) == len({c.id for c in turn.calls}), sent_ids
