"""Server-sent events decoded incrementally from raw bytes (WHATWG event-stream rules).

Lines end at LF, CRLF or a lone CR, and nowhere else: U+2028 or U+0085 inside a JSON string
must not split a line, so lines are split on bytes and decoded afterwards, never with
`str.splitlines` or `iter_lines`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = "\ufeff"


@dataclass(slots=True, frozen=True)
class ServerSentEvent:
    """One dispatched event: `data` is its `data:` lines joined with "\\n"."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turn a byte stream, in chunks of any size, into `ServerSentEvent`s.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b'data: {"a": 1}\\n\\nda')
    [ServerSentEvent(event='message', data='{"a": 1}', id=None, retry=None)]
    >>> decoder.feed(b"ta: [DONE]")
    []
    >>> decoder.close()
    [ServerSentEvent(event='message', data='[DONE]', id=None, retry=None)]

    `activity` counts dispatched events and comment lines, so a caller can tell that the server
    is still alive even when it only sends keep-alive comments.
    """

    __slots__ = (
        "_data",
        "_event",
        "_last_id",
        "_pending",
        "_retry",
        "_skip_lf",
        "_started",
        "_tail",
        "activity",
        "unterminated",
    )

    def __init__(self) -> None:
        self._tail: list[bytes] = []  # bytes of an unfinished line, joined only once it ends
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._started = False  # the first line (which may carry a BOM) has been seen
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._pending = False  # a field line arrived since the last dispatch
        self.activity = 0
        self.unterminated = False  # set by `close`: the stream ended inside a line

    def single(self, chunk: bytes) -> str | None:
        """The data of `chunk` if it is exactly one single-line `data:` event (the common read),
        consumed as `feed` would; else None and nothing consumed."""
        if (
            chunk[:6] == b"data: "
            and chunk[-2:] == b"\n\n"
            and not self._tail
            and not self._pending
            and not self._skip_lf
            and self._started
        ):
            payload = chunk[6:-2]
            if b"\n" not in payload and b"\r" not in payload:
                self.activity += 1
                return payload.decode("utf-8", "replace")
        return None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one network read; returns the events it completed (often none)."""
        if not chunk:
            return []
        data = self.single(chunk)
        if data is not None:
            return [ServerSentEvent("message", data, self._last_id, None)]
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        if b"\n" not in chunk and b"\r" not in chunk:
            self._tail.append(chunk)
            return []
        if self._tail:
            self._tail.append(chunk)
            chunk = b"".join(self._tail)
            self._tail = []
        if b"\r" in chunk:
            if chunk[-1:] == b"\r":
                # Lone CR or the first half of a CRLF split across reads: a line end either way.
                self._skip_lf = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end + 1 < len(chunk):
            self._tail.append(chunk[end + 1 :])
        # A line end is ASCII and never inside a UTF-8 sequence, so complete lines decode alone.
        lines = chunk[:end].decode("utf-8", "replace").split("\n")
        return self._process(lines)

    @property
    def buffered(self) -> bool:
        """True when bytes of an event that has not been dispatched yet were received."""
        return bool(self._tail or self._pending)

    def close(self) -> list[ServerSentEvent]:
        """End of stream: finish a last line and dispatch an event that lacked its blank line."""
        lines: list[str] = []
        self.unterminated = bool(self._tail)
        if self._tail:
            lines.append(b"".join(self._tail).decode("utf-8", "replace"))
            self._tail = []
        lines.append("")
        self._skip_lf = False
        return self._process(lines)

    def _process(self, lines: list[str]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        if not self._started and lines:
            self._started = True
            if lines[0].startswith(_BOM):
                lines[0] = lines[0][1:]
        for line in lines:
            if not line:
                if self._pending:
                    events.append(self._dispatch())
                continue
            if line[0] == ":":
                self.activity += 1
                continue
            name, colon, value = line.partition(":")
            if colon and value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" in value:
                    continue  # the spec ignores ids containing NUL
                self._last_id = value
            elif name == "retry":
                if not (value.isascii() and value.isdigit()):
                    continue
                self._retry = int(value)
            else:
                continue  # unknown fields are ignored
            self._pending = True
        return events

    def _dispatch(self) -> ServerSentEvent:
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        self._retry = None
        self._pending = False
        self.activity += 1
        return event
