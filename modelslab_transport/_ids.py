"""Tool-call ids in the form Mistral-family back ends accept: exactly 9 alphanumerics."""

from __future__ import annotations

import hashlib

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_LENGTH = 9


def normalize_tool_call_id(tool_call_id: str) -> str:
    """Map any tool-call id to 9 alphanumerics, the same way every time.

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
