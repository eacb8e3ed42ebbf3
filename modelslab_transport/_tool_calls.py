"""Tool calls on the wire, both ways.

Out: `tool_choice_for_wire` (the one tool_choice rule both adapters use), `wire_tool_call` (a
call in the history sent back) and `normalize_tool_call_id`. In: `ToolCallAssembler` turns
streamed OpenAI `delta.tool_calls` fragments into whole calls. Real servers vary: several
complete calls in one chunk, the id (and name) repeated on every fragment, a missing `index`,
a sparse `index`, arguments sent as a JSON object. Every variant comes out as `ToolCallDelta`s
with a stable index 0, 1, ... and the id and name on the first delta of each call only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidInputError
from ._events import ToolCall, ToolCallDelta

__all__ = [
    "ToolCallAssembler",
    "arguments_text",
    "generated_tool_call_id",
    "normalize_tool_call_id",
    "tool_choice_for_wire",
    "wire_tool_call",
]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_LENGTH = 9
# Every spelling of "let the model decide", "no tools" and "call some tool" -> the wire word.
_WORDS = {"auto": "auto", "none": "none", "any": "required", "required": "required"}


def normalize_tool_call_id(tool_call_id: str) -> str:
    """Map any tool-call id to 9 alphanumerics (what Mistral-family back ends accept), stably.

    An id that already has that form is kept, so ids the server issued round-trip unchanged;
    any other id (``call_abc123``, a UUID, an empty string) is hashed, so the assistant's call
    and the tool's result that share an id still share it after normalisation.

    >>> normalize_tool_call_id("abc123XYZ")
    'abc123XYZ'
    >>> len(normalize_tool_call_id("call_0123456789abcdef"))
    9
    """
    if len(tool_call_id) == _ID_LENGTH and tool_call_id.isascii() and tool_call_id.isalnum():
        return tool_call_id
    number = int.from_bytes(hashlib.sha256(tool_call_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(_ID_LENGTH):
        number, rest = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def tool_choice_for_wire(
    choice: str | Mapping[str, Any] | bool | None, tool_names: Sequence[str]
) -> str | dict[str, Any] | None:
    """The wire `tool_choice` for any spelling users write, or None to send none.

    Words: `auto`, `none`, `required` and `any` (= `required`); True = "call a tool" (that
    tool if only one is given); False/None = not sent; a tool's name, or an OpenAI
    (`{"type": "function", "function": {"name": ...}}`), Anthropic (`{"type": "tool", "name":
    ...}`) or bare (`{"name": ...}`) dict forces that tool. Without tools, `auto`/`none` are
    dropped (ModelsLab, like OpenAI, refuses tool_choice without tools) and a forced choice is
    an `InvalidInputError`: it is a bug in the caller, never silently ignored.

    >>> tool_choice_for_wire("any", ["f"])
    'required'
    >>> tool_choice_for_wire({"type": "tool", "name": "f"}, ["f", "g"])
    {'type': 'function', 'function': {'name': 'f'}}
    >>> tool_choice_for_wire("auto", []) is None
    True
    """
    if choice is None or choice is False:
        return None
    names = list(tool_names)
    wire: str | dict[str, Any]
    if choice is True:
        wire = _forced(names[0]) if len(names) == 1 else "required"
    elif isinstance(choice, str):
        wire = _WORDS[choice] if choice in _WORDS else _forced(_known(choice, choice, names))
    elif isinstance(choice, Mapping):
        name = _dict_choice_name(choice)
        kind = choice.get("type")
        if name is not None:
            wire = _forced(_known(name, choice, names))
        elif isinstance(kind, str) and kind in _WORDS:
            wire = _WORDS[kind]  # {"type": "any"}: Anthropic's spelling of a word
        else:
            raise InvalidInputError(
                "tool_choice dicts look like {'type': 'function', 'function': {'name': ...}}, "
                f"not {dict(choice)!r}"
            )
    else:
        raise InvalidInputError(f"Unsupported tool_choice {choice!r}")
    if names:
        return wire
    if wire in ("auto", "none"):
        return None
    raise InvalidInputError(
        f"tool_choice {_shown(choice)} was given without any tools: pass the tools it refers "
        "to, or drop tool_choice"
    )


def wire_tool_call(
    call_id: str | None,
    name: str,
    arguments: str | Mapping[str, Any] | None,
    *,
    position: int,
    index: int = 0,
) -> dict[str, Any]:
    """One tool call of an assistant message in the history, in ModelsLab's wire form.

    The id is normalised; a call without one (a hand-written example) gets a stable id from
    its place in the history, `position` (the message) and `index` (the call), so two calls of
    one tool never share an id. Arguments that are not a string are sent as JSON.

    >>> wire_tool_call(None, "f", {"x": 1}, position=2)["function"]
    {'name': 'f', 'arguments': '{"x": 1}'}
    """
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return {
        "id": normalize_tool_call_id(call_id or f"call-{position}-{index}"),
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def _forced(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _known(name: str, choice: object, names: list[str]) -> str:
    if names and name not in names:
        # A string may also have been meant as a word: say which words there are.
        words = " and is neither 'auto', 'none', 'required' nor 'any'" * isinstance(choice, str)
        raise InvalidInputError(
            f"tool_choice {_shown(choice)} names none of the tools given ({', '.join(names)})"
            + words
        )
    return name


def _shown(choice: object) -> str:
    return repr(dict(choice) if isinstance(choice, Mapping) else choice)


def _dict_choice_name(choice: Mapping[str, Any]) -> str | None:
    function = choice.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return str(function["name"])
    # Anthropic ({"type": "tool", "name": ...}) and bare ({"name": ...}) spellings.
    name = choice.get("name")
    return name if isinstance(name, str) else None


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
        for fragment in fragments:
            if not isinstance(fragment, dict):
                continue
            function = fragment.get("function")
            if not isinstance(function, dict):
                function = {}
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
