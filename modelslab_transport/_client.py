"""The synchronous client: one pooled httpx.Client, retries, limits, streaming. Its methods
are the async client's twins (tests/architecture/test_twins.py checks them line by line)."""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ._base_client import POOL_LIMITS, ClientCore
from ._decoding import completion_from
from ._errors import APIStatusError, ModelsLabError
from ._events import ChatCompletion, StreamEvent
from ._failures import check_answer, error_from_transport, typed
from ._payload import encode_body, for_call, requested_model
from ._retry import Retries, log_attempt
from ._settings import CHAT_PATH, COUNT_TOKENS_PATH, MODELS_PATH, ClientSettings, SettingsKwargs
from ._stream_reader import (
    StreamReader,
    header_timeouts,
    is_event_stream,
    stream_timeout,
)
from .limits import HeldSlot, Limiter
from .models import (
    count_tokens_body,
    input_tokens_from_body,
    max_tokens_in,
    models_from_body,
    resized_payload,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ModelsLabClient"]


class ModelsLabClient(ClientCore):
    """A synchronous ModelsLab LLM client.

    >>> client = ModelsLabClient(api_key="sk-...")  # doctest: +SKIP
    >>> payload = build_chat_payload(DEFAULT_MODEL, [{"role": "user", "content": "Hi"}])
    >>> client.chat(payload).first.content  # doctest: +SKIP
    'Hello! How can I help?'
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx.Client | None = None,
        limiter: Limiter | None = None,
        limiter_url: str | None = None,
        limiter_fallback: bool = False,
        **kw: Unpack[SettingsKwargs],
    ) -> None:
        super().__init__(settings, kw, limiter, limiter_url, limiter_fallback)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self.settings.timeout.httpx(),
            follow_redirects=False,
            limits=POOL_LIMITS,
            headers=self.settings.headers(CHAT_PATH),
        )

    def __enter__(self) -> ModelsLabClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (an injected http_client is left to its owner)."""
        if self._owns_http:
            self._http.close()

    # -- public calls -------------------------------------------------------------------------

    def chat(self, payload: Mapping[str, Any]) -> ChatCompletion:
        """Send a non-streaming chat completion and return it decoded (`max_tokens`: see
        `ClientCore`; the answer's `max_tokens_sent` is the value of the request that made it)."""
        body = for_call(payload, stream=False, base_url=self.settings.base_url)
        try:
            answer = self._json("POST", CHAT_PATH, body)
        except APIStatusError as exc:
            if not body.max_tokens_defaulted:
                raise
            body = resized_payload(exc, body, self.settings.base_url)
            answer = self._json("POST", CHAT_PATH, body)
        completion = completion_from(answer, requested_model(payload))
        completion.max_tokens_sent = max_tokens_in(body)
        return completion

    def stream_chat(self, payload: Mapping[str, Any]) -> Generator[StreamEvent, None, None]:
        """Stream a chat completion as neutral events; closing the iterator aborts it. A failure
        (a refused default `max_tokens` too) is retried only before any event; the `StreamStart`
        carries the `max_tokens` sent."""
        body = for_call(payload, stream=True, base_url=self.settings.base_url)
        resizable = body.max_tokens_defaulted
        content = encode_body(body, self.settings)
        model = requested_model(payload)
        attempt = 0
        retries = Retries(self.settings)
        # One generator, no nested ones: every event costs a hop per generator layer.
        while True:
            delivered = False
            try:
                # Released early (async: on its loop) if the consumer stops pulling: see `arm`.
                with HeldSlot(self._hold()) as slot:
                    started = time.monotonic()
                    response = self._open_stream(content, attempt, started)
                    sent = max_tokens_in(body)
                    reader = StreamReader(self._secret, self.settings, started, model, sent)
                    complete = False
                    try:
                        if not is_event_stream(response.headers):
                            try:
                                whole = response.read()
                            except httpx.HTTPError as exc:
                                raise error_from_transport(exc, streaming=True) from None
                            for event in self._whole_answer(response, whole, model, sent):
                                yield event
                            return
                        reader.arm(response, slot.release)
                        try:
                            for chunk in response.iter_bytes():
                                events = reader.feed(chunk)
                                if events:
                                    reader.pause()  # the caller's time is not the server's
                                    for event in events:
                                        delivered = True
                                        yield event
                                        reader.taken()  # back within stream_consumer_timeout?
                                    reader.resume()
                            complete = True
                            for event in reader.close():
                                yield event
                        except (httpx.HTTPError, ModelsLabError) as exc:
                            raise typed(reader.failure(exc)) from None
                    finally:
                        reader.release()
                        # Before the slot is freed: the connection must really be closed.
                        close_response(response, complete)
                return
            except ModelsLabError as error:
                if delivered:
                    raise
                delay = self._delay(retries, error)
                if delay is None:
                    if not (resizable and isinstance(error, APIStatusError)):
                        raise
                    resizable = False  # once: a second refusal is the answer
                    body = resized_payload(error, body, self.settings.base_url)
                    content = encode_body(body, self.settings)
                    continue
            time.sleep(delay)
            attempt += 1

    def count_tokens(
        self, model: str, messages: Sequence[Mapping[str, Any]], system: str | None = None
    ) -> int:
        """Exact prompt token count from ModelsLab's count_tokens endpoint."""
        sent = count_tokens_body(model, messages, system)
        answer = self._json("POST", COUNT_TOKENS_PATH, sent)
        return input_tokens_from_body(answer)

    def list_models(self) -> list[dict[str, Any]]:
        """The models this key may use (`id`, `owned_by`, ...)."""
        return models_from_body(self._json("GET", MODELS_PATH, None))

    # -- internals ----------------------------------------------------------------------------

    def _json(self, method: str, path: str, payload: Mapping[str, Any] | None) -> Any:
        """Send until answered, or until `retry_delay` says the failure is the answer."""
        content = None if payload is None else encode_body(payload, self.settings)
        attempt = 0
        retries = Retries(self.settings)
        while True:
            try:
                return self._send(method, path, content, attempt)
            except ModelsLabError as error:
                delay = self._delay(retries, error)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1

    def _send(self, method: str, path: str, content: bytes | None, attempt: int) -> Any:
        """One attempt: hold a slot, send, and check the answer (raises it typed)."""
        settings = self.settings
        url = settings.url(path)
        started = time.monotonic()
        with self._hold():
            try:
                response = self._http.request(
                    method,
                    url,
                    content=content,
                    headers=self._headers(path),
                    timeout=settings.timeout.httpx(),
                    follow_redirects=False,
                )
            except httpx.HTTPError as exc:
                raise self._unsent(exc, method, url, attempt, started) from None
        log_attempt(method, url, response.status_code, attempt, started, None)
        return check_answer(response.status_code, response.headers, response.content, self._secret)

    def _open_stream(self, content: bytes, attempt: int, started: float) -> httpx.Response:
        """Send a streaming request; a response with an error status is read and raised."""
        settings = self.settings
        url = settings.url(CHAT_PATH)
        http = self._http
        timeouts = header_timeouts(settings)  # the headers' wait counts as first-byte time
        request = http.build_request(
            "POST",
            url,
            content=content,
            headers=self._headers(CHAT_PATH, "text/event-stream"),
            extensions={"timeout": timeouts},
        )
        try:
            response = http.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise self._unsent(exc, "POST", url, attempt, started, streaming=True) from None
        timeouts["read"] = stream_timeout(settings).read  # the body's: the reader's backstop
        log_attempt("POST", url, response.status_code, attempt, started, None)
        if response.status_code < 300:
            return response
        try:
            body = response.read()
        finally:
            response.close()
        check_answer(response.status_code, response.headers, body, self._secret)
        raise AssertionError("unreachable: an error status always raises")  # pragma: no cover


def close_response(response: httpx.Response, complete: bool) -> None:
    """Close a stream's response: a plain close, finished or not (the async twin's closing may be
    cancelled by its task's scope; a sync close never is)."""
    response.close()
