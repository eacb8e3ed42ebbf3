"""A stream's bytes in, neutral events out, under the stream's two silence limits.

httpx applies one read timeout to every read of a response, but a stream needs two: a long
wait for its first event (an account's requests are served in queue order) and a short one
between events after that. The stream is sent with the longer of the two as httpx's read
timeout; a watchdog (one daemon thread for all streams) enforces the current limit by shutting
the stream's socket down when its deadline passes, which ends the blocked read (sync or async)
at once. The reader updates the deadline with a plain attribute write per event: no lock, no
timer object per chunk.

Before the headers, httpx's read timeout is the first-byte limit itself (`header_timeouts`):
a server that holds back its headers is silent before the first event too. While the caller
holds an event (`pause`), the deadline is the consumer's (`stream_consumer_timeout`): a
consumer that never comes back (a sync generator a web framework left suspended) gets its
stream's connection shut down and its slot freed by the watchdog; its next pull raises.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

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


def _at_most(limit: float | None, cap: float | None) -> float | None:
    if limit is None:
        return cap
    return limit if cap is None else min(limit, cap)


def stream_limits(settings: ClientSettings) -> tuple[float | None, float | None]:
    """A stream's longest silences: before its first event, and between events after it.

    Both are also bounded by the read timeout; None is no limit.
    """
    read = settings.timeout.read
    return (
        _at_most(settings.first_byte_timeout, read),
        _at_most(settings.stream_idle_timeout, read),
    )


def stream_timeout(settings: ClientSettings) -> httpx.Timeout:
    """httpx's per-read timeout for a stream: the longer of its two limits (the stream reader
    and its watchdog enforce whichever applies at the moment)."""
    timeout = settings.timeout
    first, idle = stream_limits(settings)
    read = None if first is None or idle is None else max(first, idle)
    if read == timeout.read:
        return timeout.httpx()
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


def header_timeouts(settings: ClientSettings) -> dict[str, float | None]:
    """httpx's `timeout` extension for a stream request, until its headers are in: the read
    timeout is the first-byte limit, so a server holding back its headers fails in
    `first_byte_timeout`. The client then sets `read` to `stream_timeout`'s, before the body's
    first read (httpcore reads the value when the body's reading starts)."""
    timeouts = stream_timeout(settings).as_dict()
    timeouts["read"] = stream_limits(settings)[0]
    return timeouts


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
        sse_events = self._sse.feed(chunk)
        if len(sse_events) == 1:  # the usual read: one event, no list to build
            events = self._decoder.feed(sse_events[0].data)
        else:
            events = []
            for sse_event in sse_events:
                events += self._decoder.feed(sse_event.data)
        if sse_events and self._waiting:
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


# -- the watchdog -------------------------------------------------------------------------------


class _Socket(Protocol):
    # socket.socket, ssl.SSLSocket and asyncio's TransportSocket all have it.
    def fileno(self) -> int: ...


class Deadline:
    """When the stream must next show a sign of life (`at`, monotonic seconds)."""

    __slots__ = ("at", "consumer", "fired", "on_abandon", "parked", "sock", "tick")

    def __init__(
        self,
        sock: _Socket,
        at: float,
        consumer_limit: float | None = None,
        on_abandon: Callable[[], None] | None = None,
    ) -> None:
        self.at = at
        self.sock = sock
        self.fired = False
        # True while the caller holds an event: `at` is then the consumer's deadline.
        self.consumer = False
        self.on_abandon = on_abandon
        # `pause` may move `at` earlier without a notify: the watchdog wakes this often.
        self.tick = math.inf if consumer_limit is None else min(1.0, consumer_limit / 10)
        # Set by the watchdog while it holds no wake-up time for this deadline (`at` was
        # infinite: the stream is paused); whoever makes `at` finite again must `advance`.
        self.parked = False

    def release(self) -> None:
        """Stop watching (call before the response is closed and its connection reused)."""
        _WATCHDOG.release(self)

    def advance(self, at: float) -> None:
        """Move the deadline earlier (a plain write to `at` is enough to move it later)."""
        _WATCHDOG.advance(self, at)


class _Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: set[Deadline] = set()
        self._thread: threading.Thread | None = None

    def watch(
        self,
        sock: _Socket,
        at: float,
        consumer_limit: float | None = None,
        on_abandon: Callable[[], None] | None = None,
    ) -> Deadline:
        deadline = Deadline(sock, at, consumer_limit, on_abandon)
        with self._cond:
            self._watched.add(deadline)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="modelslab-stream-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return deadline

    def release(self, deadline: Deadline) -> None:
        with self._cond:
            self._watched.discard(deadline)

    def advance(self, deadline: Deadline, at: float) -> None:
        with self._cond:
            deadline.at = at
            self._cond.notify()

    def _run(self) -> None:
        while True:
            abandoned: list[Callable[[], None]] = []
            with self._cond:
                now = time.monotonic()
                earliest: float | None = None
                for deadline in list(self._watched):
                    deadline.parked = True  # before reading `at`: see StreamReader.resume
                    at = deadline.at
                    if at <= now:
                        # Under the lock: `release` cannot hand the connection back meanwhile.
                        self._watched.discard(deadline)
                        deadline.fired = True
                        _shut_down(deadline.sock)
                        if deadline.consumer and deadline.on_abandon is not None:
                            abandoned.append(deadline.on_abandon)
                        continue
                    if at != math.inf:  # (inf: a paused stream, nothing to wake for)
                        deadline.parked = False
                    wake = min(at, now + deadline.tick)
                    if wake != math.inf and (earliest is None or wake < earliest):
                        earliest = wake
                if not abandoned:
                    # Plain writes only move deadlines later (`advance` notifies when one moves
                    # earlier; `pause` is caught by the tick), so the earliest one is enough.
                    self._cond.wait(None if earliest is None else max(earliest - now, 0.001))
            for release in abandoned:  # outside the lock: a shared limiter's release is I/O
                with contextlib.suppress(Exception):
                    release()


def _shut_down(sock: _Socket) -> None:
    # Through a duplicate descriptor: the shutdown reaches the connection without touching
    # the socket object (an SSLSocket) that the reading thread is blocked in.
    with contextlib.suppress(OSError, ValueError):
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()


def socket_of(extensions: dict[str, Any]) -> _Socket | None:
    """The socket under an httpx response, or None (a mock or custom transport)."""
    stream = extensions.get("network_stream")
    get_extra_info = getattr(stream, "get_extra_info", None)
    if get_extra_info is None:
        return None
    try:
        sock = get_extra_info("socket")
    except Exception:  # a transport's own stream type may not know the key
        return None
    return sock if callable(getattr(sock, "fileno", None)) else None


_WATCHDOG = _Watchdog()


def watch(
    sock: _Socket,
    at: float,
    consumer_limit: float | None = None,
    on_abandon: Callable[[], None] | None = None,
) -> Deadline:
    """Shut `sock` down unless the returned deadline's `at` keeps moving past the clock; if it
    fires while the consumer holds an event, call `on_abandon` afterwards."""
    return _WATCHDOG.watch(sock, at, consumer_limit, on_abandon)


def abort(response: httpx.Response) -> None:
    """Shut the response's connection down now, from any thread or a cancelled task, without
    touching httpx's objects: the server sees it closed at once (httpx still closes it)."""
    sock = socket_of(response.extensions)
    if sock is not None:
        _shut_down(sock)
