"""Separate inline reasoning (`<think>…</think>`, `[THINK]…[/THINK]`) from the answer.

Magistral writes its reasoning in the content itself, before the answer. The tags can be split
anywhere across streamed chunks, so a possible partial tag is held back until the next piece
shows what it is; nothing else is held, and once the content is known not to open with a tag,
text passes straight through.

Models whose chat template opens `<think>` itself write only the closing tag: a splitter made
with `opened=True` reads the content as reasoning until `</think>`. How a reasoning block ended
is judged once here (`reasoning_state`) for the stream decoder and the response parser alike.
"""

from __future__ import annotations

import logging

# Where reasoning comes in a message (blocks, side fields, the model's chat template).
from .models._reasoning import content_parts, reasoning_fields, template_opened

__all__ = [
    "REASONING_CUT",
    "REASONING_UNTERMINATED",
    "ThinkSplitter",
    "content_parts",
    "log_reasoning_state",
    "reasoning_fields",
    "reasoning_state",
    "template_opened",
]

logger = logging.getLogger("modelslab_transport")

#: `reasoning_state` of an answer cut (finish `length`) while the model was still reasoning.
REASONING_CUT = "cut"
#: `reasoning_state` of a `<think>` that never closed although the model stopped on its own:
#: the block's text is returned as the answer (and stays in the reasoning).
REASONING_UNTERMINATED = "unterminated"

# Finish reasons that mean "the token budget ran out" (`model_length`: Mistral's own API).
_LENGTH = frozenset(("length", "model_length", "max_tokens"))

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

    __slots__ = (
        "_buf",
        "_close",
        "_lead",
        "_opened",
        "_pieces",
        "_state",
        "answering",
        "unterminated",
    )

    def __init__(self, *, opened: bool = False) -> None:
        self._state = _START
        self._buf = ""  # held text: leading whitespace / partial tag / trailing whitespace
        self._close = ""  # the closing tag that ends the current reasoning block
        self._lead = True  # no reasoning character emitted yet (leading whitespace is dropped)
        # The template opened the block: content up to `</think>` is reasoning (unless the
        # content opens a tag itself, which is then read as usual).
        self._opened = opened
        self._pieces: list[str] = []  # reasoning released from the block while it is open
        #: After `close()`: the whole text of a reasoning block that never closed, else None.
        self.unterminated: str | None = None
        #: True once all further content is answer: `feed` would return it as it is.
        self.answering = False

    @property
    def opened(self) -> bool:
        """True if the content is read as already inside a reasoning block."""
        return self._opened

    def expect_tags(self) -> None:
        """Stop treating the content as template-opened, if no content has been read yet.

        A template-opened model whose server sends the reasoning in a separate field (or in
        thinking blocks) writes only the answer in the content.
        """
        if self._state == _START:
            self._opened = False

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
        self._state, self._buf, self.answering = _ANSWER, "", True
        if state == _START:
            if not self._opened or not held.strip():
                return held, ""  # never opened a tag: all of it is answer
            state = _REASONING  # a template-opened block holding only a partial tag
        if state == _REASONING:
            # Ended inside the reasoning: what was received stays reasoning; the caller decides
            # from the finish reason whether it was cut or never closed (`unterminated`).
            piece = held.rstrip()
            if self._lead:
                piece = piece.lstrip()
            self._pieces.append(piece)
            self.unterminated = "".join(self._pieces)
            self._pieces = []
            return "", piece
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
        if self._opened:
            self._state, self._close, self._buf = _REASONING, "</think>", ""
            return self._reasoning(buf)
        self._state, self._buf, self.answering = _ANSWER, "", True
        return buf, ""

    def _reasoning(self, text: str) -> tuple[str, str]:
        buf = self._buf + text if self._buf else text
        if self._lead:
            buf = buf.lstrip()
        closing = self._close
        end = buf.find(closing)
        if end >= 0:
            piece = buf[:end].rstrip()
            self._state, self._buf, self._pieces = _AFTER, "", []
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
            self._pieces.append(piece)
        return "", piece

    def _after(self, text: str) -> str:
        text = text.lstrip()
        if text:
            self._state, self.answering = _ANSWER, True
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


def reasoning_state(
    finish_reason: str | None,
    *,
    open_block: bool,
    reasoned: bool,
    answered: bool,
    tool_calls: bool,
) -> str | None:
    """How the reasoning of a finished choice ended, when the caller needs telling.

    `REASONING_CUT`: the token budget ran out inside an open reasoning block, or after some
    reasoning and before any answer. `REASONING_UNTERMINATED`: the model stopped (any other
    finish) inside a `<think>` that never closed. None otherwise.

    >>> reasoning_state("length", open_block=True, reasoned=True, answered=False, tool_calls=False)
    'cut'
    """
    if finish_reason in _LENGTH:
        if open_block or (reasoned and not answered and not tool_calls):
            return REASONING_CUT
        return None
    if open_block and not tool_calls:
        return REASONING_UNTERMINATED
    return None


def log_reasoning_state(state: str | None, model: str | None, finish_reason: str | None) -> None:
    """Say out loud what `reasoning_state` found (a cut answer is a WARNING naming max_tokens)."""
    if state == REASONING_CUT:
        logger.warning(
            "The answer was cut while the model was still reasoning (finish_reason %r, model "
            "%s): raise max_tokens so that the reasoning and the answer both fit",
            finish_reason,
            model or "unknown",
        )
    elif state == REASONING_UNTERMINATED:
        logger.info(
            "The model stopped inside a <think> block that never closed (model %s): its text "
            "is returned as the answer (reasoning_state 'unterminated')",
            model or "unknown",
        )
