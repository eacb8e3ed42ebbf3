"""Tool-call decisions and argument synthesis for the scripted model."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._schema import ValueSource, synthesize
from ._text import content_text, last_user_index, last_user_text

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered by the caller: its name and its parameters' JSON schema."""

    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A tool call made by the scripted model; ``arguments`` is JSON text."""

    id: str
    name: str
    arguments: str


def tool_call_id(messages: Sequence[dict[str, Any]], index: int, name: str) -> str:
    """Nine deterministic alphanumerics derived from the conversation, the index and the name."""
    seed = json.dumps(list(messages), sort_keys=True, default=str) + f"|{index}|{name}"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


_VERBS = frozenset({"get", "fetch", "lookup", "look", "find", "search", "check", "query", "read"})


def named_tools(tools: Sequence[ToolSpec], text: str) -> list[ToolSpec]:
    """Tools whose name appears (as a whole identifier) in ``text``, in the tools' order.

    When no name appears, a tool whose topic does is taken instead: the name without a leading
    verb, word by word (``get_weather`` for "What is the weather in Paris?").
    """
    named = [t for t in tools if re.search(rf"(?<![\w]){re.escape(t.name)}(?![\w])", text)]
    return named or [t for t in tools if _topic_mentioned(t.name, text)]


def _topic_mentioned(name: str, text: str) -> bool:
    words = [w for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name) if w]
    if len(words) < 2 or words[0].lower() not in _VERBS:
        return False
    lowered = text.lower()
    return all(re.search(rf"\b{re.escape(w.lower())}\b", lowered) for w in words[1:])


def tool_results(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(tool name, result text)`` of every ``role: tool`` message after the last user message."""
    start = last_user_index(messages) + 1
    names: dict[str, str] = {}
    unmatched: list[str] = []  # calls without a result yet, for results whose id is unknown
    results: list[tuple[str, str]] = []
    for message in messages[start:]:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                names[str(call.get("id"))] = str(function.get("name", "tool"))
                unmatched.append(str(call.get("id")))
        if message.get("role") == "tool":
            call_id = str(message.get("tool_call_id"))
            if call_id not in names and unmatched:
                call_id = unmatched[0]
            if call_id in unmatched:
                unmatched.remove(call_id)
            name = message.get("name") or names.get(call_id, "tool")
            results.append((str(name), content_text(message.get("content"))))
    return results


def choose_tools(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[ToolSpec],
    choice: str,
    forced: str | None,
    parallel: bool,
) -> list[ToolSpec]:
    """The tools the scripted model calls now (empty: answer in text)."""
    if not tools or choice == "none":
        return []
    if forced is not None:
        return [t for t in tools if t.name == forced][:1]
    named = named_tools(tools, last_user_text(messages))
    answered = {name for name, _ in tool_results(messages)}
    pending = [t for t in named if t.name not in answered]
    if choice == "required" and not pending:
        pending = _final_tool(tools, named, answered) or named or [tools[0]]
    return pending if parallel else pending[:1]


def _final_tool(
    tools: Sequence[ToolSpec], named: Sequence[ToolSpec], answered: set[str]
) -> list[ToolSpec]:
    """The tool that ends a forced-tool loop once the named tools have answered: the one tool
    that was neither named nor answered. Structured agents (LangChain's ``ToolStrategy``, a
    ``response_format`` schema) offer the schema as a tool and force tool use, so a model that
    may not answer in text must answer through it; calling a named tool again never ends."""
    if not answered:
        return []
    left = [t for t in tools if t not in named and t.name not in answered]
    return left if len(left) == 1 else []


def make_calls(messages: Sequence[dict[str, Any]], chosen: Sequence[ToolSpec]) -> list[ToolCall]:
    """Tool calls with arguments synthesised from the last user message."""
    prompt = last_user_text(messages)
    calls = []
    for index, tool in enumerate(chosen):
        arguments = synthesize(tool.parameters or {"type": "object"}, ValueSource(prompt))
        if not isinstance(arguments, dict):
            arguments = {}
        text = json.dumps(arguments, ensure_ascii=False)
        calls.append(ToolCall(tool_call_id(messages, index, tool.name), tool.name, text))
    return calls
