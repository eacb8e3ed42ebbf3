"""What the sync and async clients share: settings, the key's gate, failure handling, and the
sans-I/O reader that turns a stream's bytes into neutral events."""

from __future__ import annotations

import math
import time
from typing import NoReturn

import httpx

from ._errors import (
    APITimeoutError,
    IncompleteStreamError,
    InvalidInputError,
    ModelsLabError,
    UnexpectedResponseError,
)
from ._events import StreamEvent
from ._exchange import completion_events, decode_json, failure, log_attempt, stream_limits
from ._limiter import KeySlots, slots_for_key
from ._response import parse_completion
from ._retry import ask_retry, error_from_transport
from ._settings import POOL_LIMITS, ClientSettings, SettingsKwargs
from ._sse import SSEDecoder
from ._stream import StreamDecoder
from ._watchdog import Deadline, socket_of, watch

__all__ = ["POOL_LIMITS", "ClientBase", "StreamReader"]


class ClientBase:
    """Settings, the per-key in-flight gate and the retry decisions of one client."""

    def __init__(self, settings: ClientSettings | None, kw: SettingsKwargs) -> None:
        if settings is None:
            settings = ClientSettings.from_kwargs(**kw)
        elif kw:
            raise InvalidInputError(
                f"Pass either settings= or keyword settings, not both ({', '.join(sorted(kw))})"
            )
        elif not isinstance(settings, ClientSettings):
            raise InvalidInputError(
                f"settings must be a ClientSettings, not {type(settings).__name__}"
            )
        self.settings: ClientSettings = settings
        self._slots: KeySlots = slots_for_key(self._secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    @property
    def _secret(self) -> str:
        return self.settings.api_key.get_secret_value()

    def _send_failed(
        self,
        exc: httpx.HTTPError,
        method: str,
        url: str,
        attempt: int,
        started: float,
        *,
        streaming: bool,
    ) -> NoReturn:
        """The request did not get a response: retry if that is safe, else raise typed."""
        error, safe = error_from_transport(exc, streaming=streaming)
        log_attempt(method, url, None, attempt, started, error)
        ask_retry(error, attempt, self.settings, resend_safe=safe)

    def _status_failed(self, response: httpx.Response, content: bytes, attempt: int) -> NoReturn:
        """An error status: retry when the policy allows, else raise typed."""
        error, hint = failure(response.status_code, response.headers, content, self._secret)
        ask_retry(error, attempt, self.settings, response.headers, hint)

    def _whole_answer(self, body: bytes, response: httpx.Response) -> list[StreamEvent]:
        """Events for a server that answered a streaming request with one JSON body."""
        value = decode_json(response.status_code, response.headers, body, self._secret)
        return list(completion_events(parse_completion(value, secret=self._secret)))

    def _stream_failed(self, exc: Exception, attempt: int, *, delivered: bool) -> NoReturn:
        """A stream broke: retry only if nothing reached the caller yet."""
        error: ModelsLabError
        if isinstance(exc, httpx.HTTPError):
            error, safe = error_from_transport(exc, streaming=True)
        elif isinstance(exc, ModelsLabError):
            # A timed-out request may still be running (and billed): never sent again.
            error, safe = exc, not isinstance(exc, APITimeoutError)
        else:  # pragma: no cover - callers pass only the two kinds above
            raise exc
        if delivered:
            raise error from None
        ask_retry(error, attempt, self.settings, resend_safe=safe)


class StreamReader:
    """Bytes of one event-stream response in, neutral events out; enforces the stream's two
    silence limits: `first_byte_timeout` until the first event, `stream_idle_timeout` after.

    Comment lines (`: OPENROUTER PROCESSING`) are signs of life: they restart the current
    limit, but only an event ends the wait for the first one. Between reads the limits are
    checked here; while a read is blocked, by the watchdog (`arm`).
    """

    __slots__ = (
        "_activity",
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
        self, secret: str, settings: ClientSettings, started: float, model: str | None = None
    ) -> None:
        self._sse = SSEDecoder()
        # The requested model decides how its inline reasoning is read (catalogue style).
        self._decoder = StreamDecoder(secret=secret, model=model)
        self._first, self._idle = stream_limits(settings)
        self._limit = self._first
        self._waiting = True  # no event yet: the first-byte limit applies
        self._last = started
        self._activity = 0
        self._deadline: Deadline | None = None
        self._paused = 0.0

    def arm(self, response: httpx.Response) -> None:
        """Enforce the limits while a read is blocked, if the response exposes its socket."""
        sock = socket_of(response.extensions)
        if sock is not None and (self._limit is not None or self._idle is not None):
            limit = math.inf if self._limit is None else self._limit
            self._deadline = watch(sock, self._last + limit)

    def release(self) -> None:
        """Stop the watchdog; call before the response is closed."""
        if self._deadline is not None:
            self._deadline.release()

    def pause(self) -> None:
        """The caller is handling events: its time does not count as the server's silence."""
        self._paused = time.monotonic()
        if self._deadline is not None:
            self._deadline.at = math.inf

    def resume(self) -> None:
        """Back to reading: the silence clock goes on from where `pause` stopped it."""
        self._last += time.monotonic() - self._paused
        deadline = self._deadline
        if deadline is not None and self._limit is not None:
            deadline.at = self._last + self._limit  # never earlier than before the pause
            if deadline.parked:  # read after writing `at`: the watchdog may be asleep for good
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
            if self._limit is None:
                self._deadline.release()
                self._deadline = None
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
                raise self._decoder.fail(
                    IncompleteStreamError(
                        "the stream was cut in the middle of an event: the answer is incomplete"
                    )
                ) from None
        return events + self._decoder.close()

    def failure(self, exc: Exception) -> Exception:
        """The error to report for `exc`: a timeout if the watchdog ended the read, an
        incomplete stream if the server closed the connection inside a begun stream."""
        if (self._deadline is not None and self._deadline.fired) or isinstance(
            exc, httpx.ReadTimeout
        ):
            # The watchdog ended the read, or httpx's own read timeout (the longer limit, a
            # backstop) beat it to it: either way the limit in force is the one to name.
            return self._decoder.fail(self._timeout())
        begun = self._sse.activity or self._sse.buffered
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)) and begun:
            return self._decoder.fail(
                IncompleteStreamError(
                    "the connection closed in the middle of the stream: the answer is incomplete"
                )
            )
        return exc

    def _timeout(self) -> APITimeoutError:
        if self._waiting:
            return APITimeoutError(
                f"The stream sent no event (nor keep-alive) for {self._limit:g} s while "
                "waiting for its first one (first_byte_timeout)"
            )
        return APITimeoutError(
            f"The stream sent no event for {self._limit:g} s (stream_idle_timeout)"
        )
