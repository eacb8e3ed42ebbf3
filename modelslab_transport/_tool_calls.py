"""Tool calls coming in: `ToolCallAssembler` turns streamed OpenAI `delta.tool_calls` fragments
into whole calls, `message_tool_calls` reads a whole message's. Real servers vary: several
complete calls in one chunk, the id (and name) repeated on every fragment, a missing `index`,
a sparse `index`, arguments sent as a JSON object. Every variant comes out as `ToolCallDelta`s
with a stable index 0, 1, ... and the id and name on the first delta of each call only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._events import ToolCall, ToolCallDelta

# The outgoing side (ids, the history's calls, tool_choice) is what the models accept.
from .models._tools import normalize_tool_call_id, tool_choice_for_wire, wire_tool_call

__all__ = [
    "ToolCallAssembler",
    "arguments_text",
    "generated_tool_call_id",
    "message_tool_calls",
    "normalize_tool_call_id",
    "tool_choice_for_wire",
    "wire_tool_call",
]


def generated_tool_call_id(position: int, name: str, salt: str = "") -> str:
    """A deterministic 9-alphanumeric id for a call the server gave no id."""
    return normalize_tool_call_id(f"{salt}:{position}:{name}")


def arguments_text(arguments: object) -> str:
    """Tool-call arguments as a JSON string: strings pass through, objects are dumped compactly."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, separators=(",", ":"), ensure_ascii=False, default=str)


def message_tool_calls(message: dict[str, Any], salt: str, choice: int = 0) -> list[ToolCallDelta]:
    """A whole message's calls (or legacy `function_call`), one complete delta each, in order:
    every entry is its own call; one without an id gets a generated one."""
    raw = message.get("tool_calls")
    if not isinstance(raw, list):
        legacy = message.get("function_call")
        raw = [{"function": legacy}] if isinstance(legacy, dict) else []
    deltas: list[ToolCallDelta] = []
    for position, (item, function) in enumerate(_fragments(raw)):
        name = function.get("name")
        name = name if isinstance(name, str) else ""
        call_id = _as_id(item.get("id")) or generated_tool_call_id(position, name, salt)
        arguments = arguments_text(function.get("arguments")) or "{}"
        deltas.append(ToolCallDelta(position, call_id, name, arguments, choice))
    return deltas


def _fragments(items: list[Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(entry, its `function` or {}) for every object in a `tool_calls` list."""
    for item in items:
        if isinstance(item, dict):
            function = item.get("function")
            yield item, function if isinstance(function, dict) else {}


class _Call:
    __slots__ = ("args", "emitted", "given", "id", "index", "name", "sent")

    def __init__(self, index: int, call_id: str | None) -> None:
        self.index = index  # public position, 0, 1, ..., fixed when the call is first emitted
        self.id = call_id
        self.given = call_id is not None  # the id came from the server, not generated
        self.name: str | None = None
        self.args: list[str] = []
        self.sent = 0  # how many of `args` have been emitted
        self.emitted = False  # the first delta (with id and name) has gone out


class ToolCallAssembler:
    """Match fragments to calls and emit clean deltas; `calls()` gives the assembled calls.

    >>> assembler = ToolCallAssembler()
    >>> assembler.feed([{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}])
    [ToolCallDelta(index=0, id='call_1', name='f', arguments='', choice=0)]
    >>> assembler.feed([{"index": 0, "function": {"arguments": '{"x": 1}'}}])
    [ToolCallDelta(index=0, id=None, name=None, arguments='{"x": 1}', choice=0)]
    >>> assembler.calls()
    [ToolCall(id='call_1', name='f', arguments='{"x": 1}')]

    `choice` is copied onto every delta; `salt` (e.g. the completion id) makes generated ids
    differ between completions.
    """

    __slots__ = ("_by_id", "_by_index", "_calls", "_choice", "_emitted", "_salt")

    def __init__(self, choice: int = 0, *, salt: str = "") -> None:
        self._choice = choice
        self._salt = salt
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._by_id: dict[str, _Call] = {}
        self._emitted = 0  # calls emitted so far: the next public index

    def feed(self, fragments: list[Any]) -> list[ToolCallDelta]:
        """Take one chunk's `delta.tool_calls` list; returns the deltas it produced."""
        deltas: list[ToolCallDelta] = []
        for fragment, function in _fragments(fragments):
            index, call_id = _as_index(fragment.get("index")), _as_id(fragment.get("id"))
            name = function.get("name")
            arguments = function.get("arguments")
            if index is None and call_id is None and not name and not arguments:
                continue  # an empty fragment: nothing to match or add
            call = self._match(index, call_id)
            if call.name is None and isinstance(name, str) and name:
                call.name = name  # a repeated name is not appended
            if isinstance(arguments, str):
                if arguments:
                    call.args.append(arguments)
            elif arguments is not None:
                _replace_arguments(call, arguments_text(arguments))
            delta = self._delta(call, final=False)
            if delta is not None:
                deltas.append(delta)
        return deltas

    def flush(self) -> list[ToolCallDelta]:
        """End of the message: emit calls still held back because no name ever arrived."""
        deltas: list[ToolCallDelta] = []
        for call in self._calls:
            if _is_empty(call):
                continue
            delta = self._delta(call, final=True)
            if delta is not None:
                deltas.append(delta)
        return deltas

    def calls(self) -> list[ToolCall]:
        """The assembled calls, in order of first appearance (empty arguments become "{}")."""
        real = [call for call in self._calls if not _is_empty(call)]
        ordered = sorted((c for c in real if c.emitted), key=lambda c: c.index)
        for call in real:
            if not call.emitted:  # never emitted (no flush yet): it takes the next position
                call.index = len(ordered)
                ordered.append(call)
        return [
            ToolCall(
                id=self._id_of(call), name=call.name or "", arguments="".join(call.args) or "{}"
            )
            for call in ordered
        ]

    def _match(self, index: int | None, call_id: str | None) -> _Call:
        if index is not None:
            call = self._by_index.get(index)
            # Same index but another server-given id: a server that numbers every call 0.
            if call is not None and (call_id is None or not call.given or call.id == call_id):
                return self._claim(call, call_id)
            known = self._by_id.get(call_id) if call_id is not None else None
            if known is not None:
                self._by_index.setdefault(index, known)
                return known
            new = self._new(call_id)
            self._by_index[index] = new
            return new
        if call_id is not None:
            known = self._by_id.get(call_id)
            return known if known is not None else self._new(call_id)
        return self._calls[-1] if self._calls else self._new(None)

    def _claim(self, call: _Call, call_id: str | None) -> _Call:
        # An id first seen on a later fragment: adopt it unless a generated one already went out.
        if call_id is not None and not call.given:
            if not call.emitted:
                call.id, call.given = call_id, True
            self._by_id[call_id] = call
        return call

    def _new(self, call_id: str | None) -> _Call:
        call = _Call(len(self._calls), call_id)
        self._calls.append(call)
        if call_id is not None:
            self._by_id[call_id] = call
        return call

    def _id_of(self, call: _Call) -> str:
        if call.id is None:
            call.id = generated_tool_call_id(call.index, call.name or "", self._salt)
        return call.id

    def _delta(self, call: _Call, *, final: bool) -> ToolCallDelta | None:
        if not call.emitted:
            if call.name is None and not final:
                return None  # hold the call until its name is known
            call.emitted = True
            # Placeholder fragments never count: the first real call is 0, the next 1, ...
            call.index, self._emitted = self._emitted, self._emitted + 1
            call.sent = len(call.args)
            return ToolCallDelta(
                call.index, self._id_of(call), call.name or "", "".join(call.args), self._choice
            )
        if call.sent >= len(call.args):
            return None
        piece = "".join(call.args[call.sent :])
        call.sent = len(call.args)
        return ToolCallDelta(call.index, None, None, piece, self._choice)


def _replace_arguments(call: _Call, text: str) -> None:
    # Arguments sent as an object are the whole arguments: they replace, never append.
    current = "".join(call.args)
    if text.startswith(current):
        if len(text) > len(current):
            call.args.append(text[len(current) :])  # the same or an extension: send the rest
        return
    sent = "".join(call.args[: call.sent]) if call.emitted else ""
    if not text.startswith(sent):
        return  # text already sent as deltas cannot be taken back: keep the call consistent
    call.args = [sent, text[len(sent) :]] if sent else [text]
    call.sent = 1 if sent else 0


def _is_empty(call: _Call) -> bool:
    # A placeholder fragment (an index and nothing else) that never became a call.
    return call.name is None and not call.given and not call.args


def _as_index(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _as_id(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
