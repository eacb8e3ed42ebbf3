"""The asynchronous client: an httpx.AsyncClient per event loop, retries, limits, streaming."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncGenerator, Mapping, Sequence
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
    abort,
    header_timeouts,
    is_event_stream,
    stream_timeout,
)
from .limits import AsyncHeldSlot, Limiter
from .models import (
    count_tokens_body,
    input_tokens_from_body,
    max_tokens_in,
    models_from_body,
    resized_payload,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncModelsLabClient"]


class AsyncModelsLabClient(ClientCore):
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
        limiter: Limiter | None = None,
        limiter_url: str | None = None,
        limiter_fallback: bool = False,
        **kw: Unpack[SettingsKwargs],
    ) -> None:
        super().__init__(settings, kw, limiter, limiter_url, limiter_fallback)
        self._injected = http_client
        self._owns_http = http_client is None
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
                headers=self.settings.headers(CHAT_PATH),
            )
            self._per_loop[loop] = http
        return http

    # -- public calls -------------------------------------------------------------------------

    async def chat(self, payload: Mapping[str, Any]) -> ChatCompletion:
        """Send a non-streaming chat completion and return it decoded (`max_tokens`: see
        `ClientCore`; the answer's `max_tokens_sent` is the value of the request that made it)."""
        body = for_call(payload, stream=False, base_url=self.settings.base_url)
        try:
            answer = await self._json("POST", CHAT_PATH, body)
        except APIStatusError as exc:
            if not body.max_tokens_defaulted:
                raise
            body = resized_payload(exc, body, self.settings.base_url)
            answer = await self._json("POST", CHAT_PATH, body)
        completion = completion_from(answer, requested_model(payload))
        completion.max_tokens_sent = max_tokens_in(body)
        return completion

    async def stream_chat(self, payload: Mapping[str, Any]) -> AsyncGenerator[StreamEvent, None]:
        """Stream a chat completion as neutral events; closing the iterator aborts it. A failure
        (a refused default `max_tokens` too) is retried only before any event; the `StreamStart`
        carries the `max_tokens` sent."""
        body = for_call(payload, stream=True, base_url=self.settings.base_url)
        resizable = body.max_tokens_defaulted
        content = encode_body(body, self.settings)
        model = requested_model(payload)
        attempt = 0
        retries = Retries(self.settings)
        # One generator, no nested ones: every event costs a hop per async-generator layer.
        while True:
            delivered = False
            try:
                # Released early (async: on its loop) if the consumer stops pulling: see `arm`.
                async with AsyncHeldSlot(self._hold_async()) as slot:
                    started = time.monotonic()
                    response = await self._open_stream(content, attempt, started)
                    sent = max_tokens_in(body)
                    reader = StreamReader(self._secret, self.settings, started, model, sent)
                    complete = False
                    try:
                        if not is_event_stream(response.headers):
                            try:
                                whole = await response.aread()
                            except httpx.HTTPError as exc:
                                raise error_from_transport(exc, streaming=True) from None
                            for event in self._whole_answer(response, whole, model, sent):
                                yield event
                            return
                        reader.arm(response, slot.release_soon)
                        try:
                            async for chunk in response.aiter_bytes():
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
                        await close_response(response, complete)
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
            await asyncio.sleep(delay)
            attempt += 1

    async def count_tokens(
        self, model: str, messages: Sequence[Mapping[str, Any]], system: str | None = None
    ) -> int:
        """Exact prompt token count from ModelsLab's count_tokens endpoint."""
        sent = count_tokens_body(model, messages, system)
        answer = await self._json("POST", COUNT_TOKENS_PATH, sent)
        return input_tokens_from_body(answer)

    async def list_models(self) -> list[dict[str, Any]]:
        """The models this key may use (`id`, `owned_by`, ...)."""
        return models_from_body(await self._json("GET", MODELS_PATH, None))

    # -- internals ----------------------------------------------------------------------------

    async def _json(self, method: str, path: str, payload: Mapping[str, Any] | None) -> Any:
        """Send until answered, or until `retry_delay` says the failure is the answer."""
        content = None if payload is None else encode_body(payload, self.settings)
        attempt = 0
        retries = Retries(self.settings)
        while True:
            try:
                return await self._send(method, path, content, attempt)
            except ModelsLabError as error:
                delay = self._delay(retries, error)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1

    async def _send(self, method: str, path: str, content: bytes | None, attempt: int) -> Any:
        """One attempt: hold a slot, send, and check the answer (raises it typed)."""
        settings = self.settings
        url = settings.url(path)
        started = time.monotonic()
        async with self._hold_async():
            try:
                response = await self._http.request(
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

    async def _open_stream(self, content: bytes, attempt: int, started: float) -> httpx.Response:
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
            response = await http.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise self._unsent(exc, "POST", url, attempt, started, streaming=True) from None
        timeouts["read"] = stream_timeout(settings).read  # the body's: the reader's backstop
        log_attempt("POST", url, response.status_code, attempt, started, None)
        if response.status_code < 300:
            return response
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        check_answer(response.status_code, response.headers, body, self._secret)
        raise AssertionError("unreachable: an error status always raises")  # pragma: no cover


# Graceful closes finishing outside a cancelled scope (a task needs a reference to live).
_CLOSING: set[asyncio.Task[None]] = set()


async def close_response(response: httpx.Response, complete: bool) -> None:
    """Close a stream's response; one left unfinished (an error, a cancelled task, a dropped
    generator) is shut down synchronously first, so the server sees it closed even when the
    graceful close cannot run here: under an anyio cancel scope every await is cancelled again,
    so that close runs as its own task, outside the scope."""
    if complete:
        await response.aclose()
        return
    abort(response)
    closing = asyncio.ensure_future(response.aclose())
    _CLOSING.add(closing)
    closing.add_done_callback(_closed)
    await asyncio.shield(closing)


def _closed(task: asyncio.Task[None]) -> None:
    _CLOSING.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed close of a dead connection is not news
