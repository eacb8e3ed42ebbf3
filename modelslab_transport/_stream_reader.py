"""A stream's bytes in, neutral events out, under the stream's two silence limits.

httpx applies one read timeout to every read of a response, but a stream needs two: a long
wait for its first event (an account's requests are served in queue order) and a short one
between events after that. The stream is sent with the longer of the two as httpx's read
timeout; a watchdog (one daemon thread for all streams, in `limits._deadline` with the limits)
enforces the current limit by shutting the stream's socket down when its deadline passes, which
ends the blocked read (sync or async) at once. The reader updates the deadline with a plain
attribute write per event: no lock, no timer object per chunk.

Before the headers, httpx's read timeout is the first-byte limit itself (`header_timeouts`):
a server that holds back its headers is silent before the first event too. While the caller
holds an event (`pause`), the deadline is the consumer's (`stream_consumer_timeout`): a
consumer that never comes back (a sync generator a web framework left suspended) gets its
stream's connection shut down and its slot freed by the watchdog; its next pull raises.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping

import httpx

from ._decoding import StreamDecoder
from ._errors import APITimeoutError, UnexpectedResponseError
from ._events import (
    ChatCompletion,
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from ._failures import stream_ended_early, stream_silent
from ._settings import ClientSettings
from ._sse import SSEDecoder
from .limits._deadline import (
    Deadline,
    abort,
    header_timeouts,
    socket_of,
    stream_limits,
    stream_timeout,
    watch,
)

__all__ = [
    "Deadline",
    "StreamReader",
    "abort",
    "completion_events",
    "header_timeouts",
    "is_event_stream",
    "socket_of",
    "stream_limits",
    "stream_timeout",
    "watch",
]


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """True when the server answered with SSE rather than one JSON body."""
    return "text/event-stream" in headers.get("content-type", "")


def completion_events(completion: ChatCompletion) -> Iterator[StreamEvent]:
    """Replay a whole completion as stream events (a server may ignore `stream: true`)."""
    yield StreamStart(
        completion.id, completion.model, completion.created, completion.max_tokens_sent
    )
    for choice in completion.choices:
        if choice.reasoning:
            yield ReasoningDelta(choice.reasoning, choice.index)
        if choice.content:
            yield TextDelta(choice.content, choice.index)
        for position, call in enumerate(choice.tool_calls):
            yield ToolCallDelta(position, call.id, call.name, call.arguments, choice.index)
        yield FinishEvent(choice.finish_reason, choice.index, choice.reasoning_state)
    if completion.usage is not None:
        yield UsageEvent(completion.usage)


class StreamReader:
    """Bytes of one event-stream response in, neutral events out; enforces the stream's two
    silence limits: `first_byte_timeout` until the first event, `stream_idle_timeout` after.

    Comment lines (`: OPENROUTER PROCESSING`) are signs of life: they restart the current
    limit, but only an event ends the wait for the first one. Between reads the limits are
    checked here; while a read is blocked, by the watchdog (`arm`).
    """

    __slots__ = (
        "_activity",
        "_consumer",
        "_deadline",
        "_decoder",
        "_first",
        "_idle",
        "_last",
        "_limit",
        "_paused",
        "_sse",
        "_waiting",
    )

    def __init__(
        self,
        secret: str,
        settings: ClientSettings,
        started: float,
        model: str | None = None,
        max_tokens_sent: int | None = None,
    ) -> None:
        self._sse = SSEDecoder()
        # The requested model decides how its inline reasoning is read (catalogue style).
        self._decoder = StreamDecoder(secret=secret, model=model, max_tokens_sent=max_tokens_sent)
        self._first, self._idle = stream_limits(settings)
        self._consumer = settings.stream_consumer_timeout
        self._limit = self._first
        self._waiting = True  # no event yet: the first-byte limit applies
        self._last = started
        self._activity = 0
        self._deadline: Deadline | None = None
        self._paused = 0.0

    def arm(self, response: httpx.Response, on_abandon: Callable[[], None] | None = None) -> None:
        """Enforce the limits while a read is blocked, if the response exposes its socket;
        `on_abandon` (the slot's early release) runs on the watchdog's thread once the
        consumer's limit has passed and the connection is shut down."""
        sock = socket_of(response.extensions)
        consumer = self._consumer
        if sock is not None and (
            self._limit is not None or self._idle is not None or consumer is not None
        ):
            limit = math.inf if self._limit is None else self._limit
            self._deadline = watch(sock, self._last + limit, consumer, on_abandon)

    def release(self) -> None:
        """Stop the watchdog; call before the response is closed."""
        if self._deadline is not None:
            self._deadline.release()

    def pause(self) -> None:
        """The caller is handling events: its time does not count as the server's silence."""
        self._paused = now = time.monotonic()
        deadline = self._deadline
        if deadline is not None:
            # The consumer's limit now (the watchdog wakes often enough to see an earlier one).
            deadline.consumer = True
            consumer = self._consumer
            deadline.at = math.inf if consumer is None else now + consumer

    def taken(self) -> None:
        """The consumer came back for the next event: its limit starts again; raises
        `APITimeoutError` if it had passed (the stream was closed and its slot freed)."""
        deadline = self._deadline
        if deadline is not None:
            if deadline.fired:
                raise self._decoder.fail(self._timeout(consumer=True))
            if self._consumer is not None:
                deadline.at = time.monotonic() + self._consumer

    def resume(self) -> None:
        """Back to reading: the silence clock goes on from where `pause` stopped it; raises
        `APITimeoutError` if the consumer stayed away past `stream_consumer_timeout` (the
        stream was closed and its slot freed meanwhile)."""
        self._last += time.monotonic() - self._paused
        deadline = self._deadline
        if deadline is None:
            return
        if deadline.fired:
            raise self._decoder.fail(self._timeout(consumer=True))
        deadline.consumer = False
        if self._limit is None:
            deadline.at = math.inf
            return
        paused_at, deadline.at = deadline.at, self._last + self._limit
        # Earlier than the consumer's deadline the watchdog may sleep toward (a short idle
        # limit), or parked (read after writing `at`: the watchdog may be asleep for good).
        if deadline.parked or deadline.at < paused_at:
            deadline.advance(deadline.at)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Decode one network read; raises `APITimeoutError` when events stopped coming."""
        data = self._sse.single(chunk)
        if data is not None:  # the usual read: one event, no event object or list to build
            events = self._decoder.feed(data)
            dispatched = True
        else:
            events = []
            sse_events = self._sse.feed(chunk)
            for sse_event in sse_events:
                events += self._decoder.feed(sse_event.data)
            dispatched = bool(sse_events)
        if dispatched and self._waiting:
            self._first_event()
        limit = self._limit
        if limit is not None:
            now = time.monotonic()
            if self._sse.activity != self._activity:
                self._activity, self._last = self._sse.activity, now
                if self._deadline is not None:
                    self._deadline.at = now + limit
            elif now - self._last > limit:
                raise self._decoder.fail(self._timeout())
        return events

    def _first_event(self) -> None:
        # From now on the (usually shorter) idle limit applies, to reads and to the watchdog.
        self._waiting, self._limit = False, self._idle
        if self._deadline is not None:
            if self._limit is None and self._consumer is None:
                self._deadline.release()
                self._deadline = None
            elif self._limit is None:
                self._deadline.at = math.inf  # only the consumer's limit is left to watch
            else:
                self._deadline.advance(time.monotonic() + self._limit)

    def close(self) -> list[StreamEvent]:
        """End of the body: flush, and raise `IncompleteStreamError` if the answer was cut."""
        events: list[StreamEvent] = []
        for sse_event in self._sse.close():
            try:
                events += self._decoder.feed(sse_event.data)
            except UnexpectedResponseError:
                if not self._sse.unterminated:
                    raise
                # The connection closed inside a `data:` line: the event was cut, not bad JSON.
                raise self._decoder.fail(stream_ended_early("mid_event")) from None
        return events + self._decoder.close()

    def failure(self, exc: Exception) -> Exception:
        """The error to report for `exc`: a timeout if the watchdog ended the read, an
        incomplete stream if the server closed the connection inside a begun stream."""
        deadline = self._deadline
        if deadline is not None and deadline.fired and deadline.consumer:
            return self._decoder.fail(self._timeout(consumer=True))
        if (deadline is not None and deadline.fired) or isinstance(exc, httpx.ReadTimeout):
            # The watchdog ended the read, or httpx's own read timeout (the longer limit, a
            # backstop) beat it to it: either way the limit in force is the one to name.
            return self._decoder.fail(self._timeout())
        begun = self._sse.activity or self._sse.buffered
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)) and begun:
            return self._decoder.fail(stream_ended_early("connection"))
        return exc

    def _timeout(self, *, consumer: bool = False) -> APITimeoutError:
        limit = self._consumer if consumer else self._limit
        return stream_silent(limit, waiting=self._waiting, consumer=consumer)
