"""Separate inline reasoning (`<think>…</think>`, `[THINK]…[/THINK]`) from the answer.

Magistral writes its reasoning in the content itself, before the answer. The tags can be split
anywhere across streamed chunks, so a possible partial tag is held back until the next piece
shows what it is; nothing else is held, and once the content is known not to open with a tag,
text passes straight through.
"""

from __future__ import annotations

__all__ = ["ThinkSplitter"]

# Opening tag -> closing tag.
_TAGS: dict[str, str] = {"<think>": "</think>", "[THINK]": "[/THINK]"}

_START, _REASONING, _AFTER, _ANSWER = range(4)


class ThinkSplitter:
    """Split streamed content into (answer, reasoning) pieces.

    A reasoning block is recognised only at the very start of the content (after optional
    whitespace). Whitespace around the reasoning, and before the answer that follows it, is
    dropped. The concatenated output is the same however the input is split.

    >>> splitter = ThinkSplitter()
    >>> splitter.feed("<thi"), splitter.feed("nk>\\nWhy? </th"), splitter.feed("ink>\\nParis.")
    (('', ''), ('', 'Why?'), ('Paris.', ''))
    >>> splitter.close()
    ('', '')
    """

    __slots__ = ("_buf", "_close", "_lead", "_state")

    def __init__(self) -> None:
        self._state = _START
        self._buf = ""  # held text: leading whitespace / partial tag / trailing whitespace
        self._close = ""  # the closing tag that ends the current reasoning block
        self._lead = True  # no reasoning character emitted yet (leading whitespace is dropped)

    @property
    def in_reasoning(self) -> bool:
        """True while inside a reasoning block whose closing tag has not arrived yet."""
        return self._state == _REASONING

    def feed(self, text: str) -> tuple[str, str]:
        """Add a piece of content; returns the (answer, reasoning) text it released."""
        state = self._state
        if state == _ANSWER:
            return text, ""
        if state == _AFTER:
            return self._after(text), ""
        if state == _REASONING:
            return self._reasoning(text)
        return self._start(text)

    def close(self) -> tuple[str, str]:
        """End of content: release what was held back. Idempotent."""
        state, held = self._state, self._buf
        self._state, self._buf = _ANSWER, ""
        if state == _START:
            return held, ""  # never opened a tag: all of it is answer
        if state == _REASONING:
            # Ended inside the reasoning: what was received stays reasoning.
            piece = held.rstrip()
            return "", piece.lstrip() if self._lead else piece
        return "", ""

    def _start(self, text: str) -> tuple[str, str]:
        buf = self._buf + text
        head = buf.lstrip()
        if not head:
            self._buf = buf
            return "", ""
        for opening, closing in _TAGS.items():
            if head.startswith(opening):
                self._state, self._close, self._buf = _REASONING, closing, ""
                return self._reasoning(head[len(opening) :])
            if opening.startswith(head):
                self._buf = buf  # could still become this tag
                return "", ""
        self._state, self._buf = _ANSWER, ""
        return buf, ""

    def _reasoning(self, text: str) -> tuple[str, str]:
        buf = self._buf + text if self._buf else text
        if self._lead:
            buf = buf.lstrip()
        closing = self._close
        end = buf.find(closing)
        if end >= 0:
            piece = buf[:end].rstrip()
            self._state, self._buf = _AFTER, ""
            if piece:
                self._lead = False
            return self._after(buf[end + len(closing) :]), piece
        keep = _partial_suffix(buf, closing)
        body = buf[: len(buf) - keep]
        piece = body.rstrip()
        # Trailing whitespace is held: it is dropped if the closing tag comes next.
        self._buf = buf[len(piece) :]
        if piece:
            self._lead = False
        return "", piece

    def _after(self, text: str) -> str:
        text = text.lstrip()
        if text:
            self._state = _ANSWER
        return text


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest proper prefix of `tag` that `text` ends with."""
    first = tag[0]
    # Fast path: the tag's first character is not among the last few characters.
    if first not in text[-(len(tag) - 1) :]:
        return 0
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
