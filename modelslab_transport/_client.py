"""The synchronous client: one pooled httpx.Client, retries, limits, streaming."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

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

    from ._async_client import AsyncModelsLabClient

__all__ = ["ClientCache", "ModelsLabClient"]


class ModelsLabClient(ClientBase):
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
        **kw: Unpack[SettingsKwargs],
    ) -> None:
        super().__init__(settings, kw)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self.settings.timeout.httpx(),
            follow_redirects=False,
            limits=POOL_LIMITS,
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
        """Send a non-streaming chat completion and return it decoded.

        Without `max_tokens` (or `max_completion_tokens`) the catalogue's default is sent, never
        the server's 1000 (see `fill_max_tokens`); if the server refuses that default's size, the
        request is sent once more with the limit it states.
        """
        body_payload = plain_payload(payload)
        defaulted = fill_max_tokens(body_payload)
        try:
            body = self._json("POST", CHAT_PATH, body_payload)
        except APIStatusError as exc:
            if not defaulted:
                raise
            body = self._json("POST", CHAT_PATH, resized_payload(exc, body_payload))
        return parse_completion(body, secret=self._secret, model=requested_model(payload))

    def stream_chat(self, payload: Mapping[str, Any]) -> Generator[StreamEvent, None, None]:
        """Stream a chat completion as neutral events; closing the iterator aborts it.

        `max_tokens` as for `chat`: a refused default is resent once, smaller, provided nothing
        was delivered yet.
        """
        body_payload = streaming_payload(payload)
        resize = fill_max_tokens(body_payload)
        content = encode_body(body_payload, self.settings)
        attempt = 0
        # One generator, no nested ones: every event costs a hop per generator layer.
        while True:
            delivered = False
            try:
                with self._slots.hold(self.settings.max_concurrent_requests):
                    started = time.monotonic()
                    response = self._open_stream(content, attempt)
                    reader = StreamReader(
                        self._secret, self.settings, started, requested_model(payload)
                    )
                    try:
                        if not is_event_stream(response.headers):
                            try:
                                answer = self._whole_answer(response.read(), response)
                            except (httpx.HTTPError, ModelsLabError) as exc:
                                self._stream_failed(exc, attempt, delivered=False)
                            yield from answer
                            return
                        reader.arm(response)
                        try:
                            for chunk in response.iter_bytes():
                                events = reader.feed(chunk)
                                if events:
                                    reader.pause()  # the caller's time is not the server's
                                    for event in events:
                                        delivered = True
                                        yield event
                                    reader.resume()
                            yield from reader.close()
                        except (httpx.HTTPError, ModelsLabError) as exc:
                            self._stream_failed(reader.failure(exc), attempt, delivered=delivered)
                    finally:
                        reader.release()
                        response.close()
                return
            except RetrySignal as retry:
                time.sleep(retry.delay)
                attempt += 1
            except APIStatusError as exc:
                if not resize or delivered:
                    raise
                resize = False  # once: a second refusal is the answer
                content = encode_body(resized_payload(exc, body_payload), self.settings)

    def count_tokens(
        self, model: str, messages: Sequence[Mapping[str, Any]], system: str | None = None
    ) -> int:
        """Exact prompt token count from ModelsLab's count_tokens endpoint."""
        body = self._json("POST", COUNT_TOKENS_PATH, count_tokens_body(model, messages, system))
        return input_tokens_from_body(body)

    def list_models(self) -> list[dict[str, Any]]:
        """The models this key may use (`id`, `owned_by`, ...)."""
        return models_from_body(self._json("GET", MODELS_PATH, None))

    # -- internals ----------------------------------------------------------------------------

    def _json(self, method: str, path: str, payload: Mapping[str, Any] | None) -> Any:
        content = None if payload is None else encode_body(payload, self.settings)
        for attempt in range(self.settings.max_retries + 1):
            try:
                return self._json_once(method, path, content, attempt)
            except RetrySignal as retry:
                time.sleep(retry.delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _json_once(self, method: str, path: str, content: bytes | None, attempt: int) -> Any:
        settings = self.settings
        url = settings.url(path)
        started = time.monotonic()
        with self._slots.hold(settings.max_concurrent_requests):
            try:
                response = self._http.request(
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

    def _open_stream(self, content: bytes, attempt: int) -> httpx.Response:
        """Send a streaming request; a response with an error status is read and raised."""
        settings = self.settings
        url = settings.url(CHAT_PATH)
        started = time.monotonic()
        request = self._http.build_request(
            "POST",
            url,
            content=content,
            headers={**request_headers(settings, CHAT_PATH), "Accept": "text/event-stream"},
            timeout=stream_timeout(settings),
        )
        try:
            response = self._http.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            self._send_failed(exc, "POST", url, attempt, started, streaming=True)
        log_attempt("POST", url, response.status_code, attempt, started, None)
        if response.status_code >= 300:
            try:
                body = response.read()
            finally:
                response.close()
            self._status_failed(response, body, attempt)
        return response


_CACHE_SIZE = 16


class ClientCache:
    """The clients of one adapter model: a sync and an async client per distinct settings.

    Keyed by `(settings, http_client)`, so a model whose fields changed never talks through a
    client built for other settings. At most 16 of each are kept; an evicted client is not
    closed (a call may still be using it), `close`/`aclose` close every one still held. A copy
    (deepcopy, pickle) starts empty: clients hold pools and locks, neither copyable nor
    picklable.
    """

    __slots__ = ("_async", "_lock", "_sync")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: OrderedDict[tuple[ClientSettings, object], ModelsLabClient] = OrderedDict()
        self._async: OrderedDict[tuple[ClientSettings, object], AsyncModelsLabClient]
        self._async = OrderedDict()

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientCache:
        return ClientCache()

    def __reduce__(self) -> tuple[type[ClientCache], tuple[()]]:
        return (ClientCache, ())

    def sync(
        self, settings: ClientSettings, http_client: httpx.Client | None = None
    ) -> ModelsLabClient:
        """The sync client for these settings, built on first use."""
        return _cached(self._lock, self._sync, (settings, http_client), ModelsLabClient)

    def async_(
        self, settings: ClientSettings, http_client: httpx.AsyncClient | None = None
    ) -> AsyncModelsLabClient:
        """The async client for these settings (safe across event loops)."""
        from ._async_client import AsyncModelsLabClient  # asyncio loads on first async use

        return _cached(self._lock, self._async, (settings, http_client), AsyncModelsLabClient)

    def close(self) -> None:
        """Close the sync clients' connection pools; later calls open new ones."""
        with self._lock:
            clients, self._sync = list(self._sync.values()), OrderedDict()
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        """Close every pool: the sync ones, and the async ones of the running event loop."""
        self.close()
        with self._lock:
            clients, self._async = list(self._async.values()), OrderedDict()
        for client in clients:
            await client.aclose()


_C = TypeVar("_C", "ModelsLabClient", "AsyncModelsLabClient")


def _cached(
    lock: threading.Lock,
    clients: OrderedDict[tuple[ClientSettings, object], _C],
    key: tuple[ClientSettings, Any],
    build: Callable[..., _C],
) -> _C:
    with lock:
        client = clients.get(key)
        if client is None:
            client = clients[key] = build(key[0], http_client=key[1])
            if len(clients) > _CACHE_SIZE:
                clients.popitem(last=False)
        else:
            clients.move_to_end(key)
        return client
