"""Tool calls on the way out, as ModelsLab's back ends accept them.

`normalize_tool_call_id` (the 9 alphanumerics Mistral-family back ends require),
`wire_tool_call` (a call in the history sent back) and `tool_choice_for_wire` (the one
tool_choice rule both adapters use). The incoming side is `modelslab_transport._tool_calls`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InvalidInputError

__all__ = ["normalize_tool_call_id", "tool_choice_for_wire", "wire_tool_call"]

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
