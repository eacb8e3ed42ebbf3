"""What the sync and async clients share: settings, the key's gate, failure handling, and the
sans-I/O reader that turns a stream's bytes into neutral events."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NoReturn

import httpx

from ._errors import APITimeoutError, ModelsLabError
from ._events import StreamEvent
from ._exchange import completion_events, decode_json, failure, log_attempt
from ._limiter import KeySlots, slots_for_key
from ._response import parse_completion
from ._retry import ask_retry, error_from_transport
from ._secret import SecretLike
from ._settings import ClientSettings, resolve_settings
from ._sse import SSEDecoder
from ._stream import StreamDecoder

__all__ = ["ClientBase", "StreamReader"]

POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class ClientBase:
    """Settings, the per-key in-flight gate and the retry decisions of one client."""

    def __init__(
        self,
        *,
        api_key: str | SecretLike | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        stream_idle_timeout: float | None,
        max_retries: int,
        max_concurrent_requests: int | None,
        default_headers: Mapping[str, str] | None,
        max_retry_wait: float,
    ) -> None:
        self.settings: ClientSettings = resolve_settings(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            stream_idle_timeout=stream_idle_timeout,
            max_retries=max_retries,
            max_concurrent_requests=max_concurrent_requests,
            max_retry_wait=max_retry_wait,
            default_headers=default_headers,
        )
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
            error, safe = exc, True
        else:  # pragma: no cover - callers pass only the two kinds above
            raise exc
        if delivered:
            raise error from None
        ask_retry(error, attempt, self.settings, resend_safe=safe)


class StreamReader:
    """Bytes of one event-stream response in, neutral events out; enforces the idle timeout."""

    __slots__ = ("_activity", "_decoder", "_idle", "_last", "_sse")

    def __init__(self, secret: str, idle_timeout: float | None, model: str | None = None) -> None:
        self._sse = SSEDecoder()
        # The requested model decides how its inline reasoning is read (catalogue style).
        self._decoder = StreamDecoder(secret=secret, model=model)
        self._idle = idle_timeout
        self._last = time.monotonic()
        self._activity = 0

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Decode one network read; raises `APITimeoutError` when events stopped coming."""
        sse_events = self._sse.feed(chunk)
        if len(sse_events) == 1:  # the usual read: one event, no list to build
            events = self._decoder.feed(sse_events[0].data)
        else:
            events = []
            for sse_event in sse_events:
                events += self._decoder.feed(sse_event.data)
        if self._idle is not None:
            now = time.monotonic()
            if self._sse.activity != self._activity:
                self._activity, self._last = self._sse.activity, now
            elif now - self._last > self._idle:
                raise APITimeoutError(
                    f"The stream sent no event for {self._idle:g} s (stream_idle_timeout)"
                )
        return events

    def close(self) -> list[StreamEvent]:
        """End of the body: flush, and raise `IncompleteStreamError` if the answer was cut."""
        events: list[StreamEvent] = []
        for sse_event in self._sse.close():
            events += self._decoder.feed(sse_event.data)
        return events + self._decoder.close()
