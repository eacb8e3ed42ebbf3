"""The asynchronous client: an httpx.AsyncClient per event loop, retries, limits, streaming."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ._base import POOL_LIMITS, ClientBase, StreamReader
from ._budget import fill_max_tokens, resized_payload
from ._errors import APIStatusError, BadGatewayError, ModelsLabError
from ._events import ChatCompletion, StreamEvent
from ._exchange import (
    CHAT_PATH,
    COUNT_TOKENS_PATH,
    MODELS_PATH,
    decode_json,
    encode_body,
    is_event_stream,
    log_attempt,
    plain_payload,
    request_headers,
    stream_timeout,
    streaming_payload,
)
from ._response import parse_completion
from ._retry import RetrySignal, ask_retry
from ._settings import ClientSettings, SettingsKwargs
from ._stream import requested_model
from ._tokens import count_tokens_body, input_tokens_from_body, models_from_body

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncModelsLabClient"]


class AsyncModelsLabClient(ClientBase):
    """An asyncio ModelsLab LLM client, safe to use from several event loops in turn.

    >>> async with AsyncModelsLabClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     async for event in client.stream_chat(payload):
    ...         print(event)
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        **kw: Unpack[SettingsKwargs],
    ) -> None:
        super().__init__(settings, kw)
        self._injected = http_client
        # httpx.AsyncClient binds its connections to the loop that opened them: keep one per loop.
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._per_loop = weakref.WeakKeyDictionary()

    async def __aenter__(self) -> AsyncModelsLabClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close this loop's connection pool (an injected http_client is left to its owner)."""
        loop = asyncio.get_running_loop()
        http = self._per_loop.pop(loop, None)
        if http is not None:
            await http.aclose()

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._injected is not None:
            return self._injected
        loop = asyncio.get_running_loop()
        http = self._per_loop.get(loop)
        if http is None or http.is_closed:
            http = httpx.AsyncClient(
                timeout=self.settings.timeout.httpx(),
                follow_redirects=False,
                limits=POOL_LIMITS,
            )
            self._per_loop[loop] = http
        return http

    # -- public calls -------------------------------------------------------------------------

    async def chat(self, payload: Mapping[str, Any]) -> ChatCompletion:
        """Send a non-streaming chat completion and return it decoded.

        Without `max_tokens` (or `max_completion_tokens`) the catalogue's default is sent, never
        the server's 1000 (see `fill_max_tokens`); if the server refuses that default's size, the
        request is sent once more with the limit it states.
        """
        body_payload = plain_payload(payload)
        defaulted = fill_max_tokens(body_payload)
        try:
            body = await self._json("POST", CHAT_PATH, body_payload)
        except APIStatusError as exc:
            if not defaulted:
                raise
            body = await self._json("POST", CHAT_PATH, resized_payload(exc, body_payload))
        return parse_completion(body, secret=self._secret, model=requested_model(payload))

    async def stream_chat(self, payload: Mapping[str, Any]) -> AsyncGenerator[StreamEvent, None]:
        """Stream a chat completion as neutral events; closing the iterator aborts it.

        `max_tokens` as for `chat`: a refused default is resent once, smaller, provided nothing
        was delivered yet.
        """
        body_payload = streaming_payload(payload)
        resize = fill_max_tokens(body_payload)
        content = encode_body(body_payload, self.settings)
        attempt = 0
        # One generator, no nested ones: every event costs a hop per async-generator layer.
        while True:
            delivered = False
            try:
                async with self._slots.hold_async(self.settings.max_concurrent_requests):
                    started = time.monotonic()
                    response = await self._open_stream(content, attempt)
                    reader = StreamReader(
                        self._secret, self.settings, started, requested_model(payload)
                    )
                    try:
                        if not is_event_stream(response.headers):
                            try:
                                answer = self._whole_answer(await response.aread(), response)
                            except (httpx.HTTPError, ModelsLabError) as exc:
                                self._stream_failed(exc, attempt, delivered=False)
                            for event in answer:
                                yield event
                            return
                        reader.arm(response)
                        try:
                            async for chunk in response.aiter_bytes():
                                events = reader.feed(chunk)
                                if events:
                                    reader.pause()  # the caller's time is not the server's
                                    for event in events:
                                        delivered = True
                                        yield event
                                    reader.resume()
                            for event in reader.close():
                                yield event
                        except (httpx.HTTPError, ModelsLabError) as exc:
                            self._stream_failed(reader.failure(exc), attempt, delivered=delivered)
                    finally:
                        reader.release()
                        await response.aclose()
                return
            except RetrySignal as retry:
                await asyncio.sleep(retry.delay)
                attempt += 1
            except APIStatusError as exc:
                if not resize or delivered:
                    raise
                resize = False  # once: a second refusal is the answer
                content = encode_body(resized_payload(exc, body_payload), self.settings)

    async def count_tokens(
        self, model: str, messages: Sequence[Mapping[str, Any]], system: str | None = None
    ) -> int:
        """Exact prompt token count from ModelsLab's count_tokens endpoint."""
        body = await self._json(
            "POST", COUNT_TOKENS_PATH, count_tokens_body(model, messages, system)
        )
        return input_tokens_from_body(body)

    async def list_models(self) -> list[dict[str, Any]]:
        """The models this key may use (`id`, `owned_by`, ...)."""
        return models_from_body(await self._json("GET", MODELS_PATH, None))

    # -- internals ----------------------------------------------------------------------------

    async def _json(self, method: str, path: str, payload: Mapping[str, Any] | None) -> Any:
        content = None if payload is None else encode_body(payload, self.settings)
        for attempt in range(self.settings.max_retries + 1):
            try:
                return await self._json_once(method, path, content, attempt)
            except RetrySignal as retry:
                await asyncio.sleep(retry.delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _json_once(self, method: str, path: str, content: bytes | None, attempt: int) -> Any:
        settings = self.settings
        url = settings.url(path)
        started = time.monotonic()
        async with self._slots.hold_async(settings.max_concurrent_requests):
            try:
                response = await self._http.request(
                    method,
                    url,
                    content=content,
                    headers=request_headers(settings, path),
                    timeout=settings.timeout.httpx(),
                    follow_redirects=False,
                )
            except httpx.HTTPError as exc:
                self._send_failed(exc, method, url, attempt, started, streaming=False)
        log_attempt(method, url, response.status_code, attempt, started, None)
        if response.status_code < 300:
            try:
                return decode_json(
                    response.status_code, response.headers, response.content, self._secret
                )
            except BadGatewayError as exc:  # a 200 that is not JSON: retried like a 502
                ask_retry(exc, attempt, settings)
        self._status_failed(response, response.content, attempt)

    async def _open_stream(self, content: bytes, attempt: int) -> httpx.Response:
        """Send a streaming request; a response with an error status is read and raised."""
        settings = self.settings
        url = settings.url(CHAT_PATH)
        http = self._http
        started = time.monotonic()
        request = http.build_request(
            "POST",
            url,
            content=content,
            headers={**request_headers(settings, CHAT_PATH), "Accept": "text/event-stream"},
            timeout=stream_timeout(settings),
        )
        try:
            response = await http.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            self._send_failed(exc, "POST", url, attempt, started, streaming=True)
        log_attempt("POST", url, response.status_code, attempt, started, None)
        if response.status_code >= 300:
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            self._status_failed(response, body, attempt)
        return response
