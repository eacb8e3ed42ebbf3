"""The synchronous client (one pooled httpx.Client: retries, limits, streaming), what both
clients share, and the cache of clients an adapter model keeps."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._budget import fill_max_tokens, max_tokens_in, resized_payload
from ._decoding import completion_from
from ._error_body import check_answer
from ._errors import APIConnectionError, APIStatusError, InvalidInputError, ModelsLabError
from ._events import ChatCompletion, StreamEvent
from ._payload import (
    count_tokens_body,
    encode_body,
    for_call,
    input_tokens_from_body,
    models_from_body,
    requested_model,
)
from ._retry import Retries, error_from_transport, log_attempt
from ._settings import (
    CHAT_PATH,
    COUNT_TOKENS_PATH,
    MODELS_PATH,
    POOL_LIMITS,
    ClientSettings,
    SettingsKwargs,
)
from ._stream_reader import (
    StreamReader,
    completion_events,
    header_timeouts,
    is_event_stream,
    stream_timeout,
)
from .limits import HeldSlot, Limiter, learn_queue_limit, limiter_for

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._async_client import AsyncModelsLabClient

__all__ = ["ClientCache", "ClientCore", "ModelsLabClient", "max_tokens_sent"]


def max_tokens_sent(payload: Mapping[str, Any], base_url: str | None = None) -> int | None:
    """The `max_tokens` a client for `base_url` sends for `payload` (before any resize retry):
    the caller's, else the default it fills in from the prompt and what it learned of that
    host. What traces should record.

    >>> max_tokens_sent(build_chat_payload(DEFAULT_MODEL, [{"role": "user", "content": "Hi"}]))
    ... # doctest: +SKIP
    40427
    """
    body = for_call(payload, stream=False)
    fill_max_tokens(body, base_url)
    return max_tokens_in(body)


class ClientCore:
    """What the sync and async clients share: settings and the key's in-flight gate."""

    def __init__(
        self, settings: ClientSettings | None, kw: SettingsKwargs, limiter: Limiter | None = None
    ) -> None:
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
        # The limiter `limiter_url` names (machine-local by default), unless one is passed in.
        self.limiter: Limiter = (
            limiter
            if limiter is not None
            else limiter_for(
                settings.limiter_url,
                self._secret,
                base_url=settings.base_url,
                fallback=settings.limiter_fallback,
                acquire_timeout=settings.acquire_timeout,
            )
        )

    def _limit(self) -> int | None:
        """This request's in-flight limit: the setting, or the plan's limit a 429 stated when
        lower and the user left the setting at its default."""
        limit = self.settings.max_concurrent_requests
        learned = self.limiter.learned
        if learned is not None and self.settings.learn_queue_limit:
            limit = learned if limit is None else min(limit, learned)
        return limit

    def _hold(self) -> AbstractContextManager[None]:
        """The slot a sync request holds while in flight (shared by this machine's processes by
        default, or through Redis)."""
        return self.limiter.hold(self._limit())

    def _hold_async(self) -> AbstractAsyncContextManager[None]:
        """The same for an async request (never blocks the event loop)."""
        return self.limiter.hold_async(self._limit())

    def _delay(self, retries: Retries, error: ModelsLabError) -> float | None:
        """The retry policy's delay after `error` (None: raise it); a queue limit it learned
        goes to the limiter here, the policy itself writes no state."""
        decision = retries.decide(error)
        if decision.learned_limit is not None:
            configured = self.settings.max_concurrent_requests
            learn_queue_limit(self.limiter, decision.learned_limit, configured)
        return decision.delay

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    @property
    def _secret(self) -> str:
        return self.settings.api_key.get_secret_value()

    def _unsent(
        self,
        exc: httpx.HTTPError,
        method: str,
        url: str,
        attempt: int,
        started: float,
        *,
        streaming: bool = False,
    ) -> APIConnectionError:
        """The typed error for a request that got no response (logged like an answer)."""
        error = error_from_transport(exc, streaming=streaming)
        log_attempt(method, url, None, attempt, started, error)
        return error

    def _whole_answer(
        self, response: httpx.Response, content: bytes, model: str | None, sent: int | None
    ) -> list[StreamEvent]:
        """Events for a server that answered a streaming request with one JSON body."""
        value = check_answer(response.status_code, response.headers, content, self._secret)
        completion = completion_from(value, model)
        completion.max_tokens_sent = sent
        return list(completion_events(completion))


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
        **kw: Unpack[SettingsKwargs],
    ) -> None:
        super().__init__(settings, kw, limiter)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self.settings.timeout.httpx(), follow_redirects=False, limits=POOL_LIMITS
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
        request is sent once more with the limit it states. The answer's `max_tokens_sent` is
        the value of the request that produced it.
        """
        body = for_call(payload, stream=False)
        defaulted = fill_max_tokens(body, self.settings.base_url)
        try:
            answer = self._json("POST", CHAT_PATH, body)
        except APIStatusError as exc:
            if not defaulted:
                raise
            body = resized_payload(exc, body, self.settings.base_url)
            answer = self._json("POST", CHAT_PATH, body)
        completion = completion_from(answer, requested_model(payload))
        completion.max_tokens_sent = max_tokens_in(body)
        return completion

    def stream_chat(self, payload: Mapping[str, Any]) -> Generator[StreamEvent, None, None]:
        """Stream a chat completion as neutral events; closing the iterator aborts it.

        `max_tokens` as for `chat`: a refused default is resent once, smaller, provided nothing
        was delivered yet; the `StreamStart` carries the value sent. A failure is retried (by
        `retry_delay`) only before any event.
        """
        body = for_call(payload, stream=True)
        resizable = fill_max_tokens(body, self.settings.base_url)
        content = encode_body(body, self.settings)
        model = requested_model(payload)
        attempt = 0
        retries = Retries(self.settings)
        # One generator, no nested ones: every event costs a hop per generator layer.
        while True:
            delivered = False
            try:
                # Released early (by the watchdog) if the consumer stops pulling: see `arm`.
                with HeldSlot(self._hold()) as slot:
                    started = time.monotonic()
                    response = self._open_stream(content, attempt, started)
                    sent = max_tokens_in(body)
                    reader = StreamReader(self._secret, self.settings, started, model, sent)
                    try:
                        if not is_event_stream(response.headers):
                            try:
                                whole = response.read()
                            except httpx.HTTPError as exc:
                                raise error_from_transport(exc, streaming=True) from None
                            yield from self._whole_answer(response, whole, model, sent)
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
                            yield from reader.close()
                        except (httpx.HTTPError, ModelsLabError) as exc:
                            raise typed(reader.failure(exc)) from None
                    finally:
                        reader.release()
                        response.close()
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
        body = self._json("POST", COUNT_TOKENS_PATH, count_tokens_body(model, messages, system))
        return input_tokens_from_body(body)

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
                    headers=settings.headers(path),
                    timeout=settings.timeout.httpx(),
                    follow_redirects=False,
                )
            except httpx.HTTPError as exc:
                raise self._unsent(exc, method, url, attempt, started) from None
        log_attempt(method, url, response.status_code, attempt, started, None)
        return check_answer(response.status_code, response.headers, response.content, self._secret)

    def _open_stream(self, content: bytes, attempt: int, started: float) -> httpx.Response:
        """Send a streaming request; a response with an error status is read and raised.

        The wait for the headers counts toward `first_byte_timeout` (see `header_timeouts`)."""
        settings = self.settings
        url = settings.url(CHAT_PATH)
        timeouts = header_timeouts(settings)
        request = self._http.build_request(
            "POST",
            url,
            content=content,
            headers={**settings.headers(CHAT_PATH), "Accept": "text/event-stream"},
            extensions={"timeout": timeouts},
        )
        try:
            response = self._http.send(request, stream=True, follow_redirects=False)
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


def typed(failure: Exception) -> ModelsLabError:
    """A stream's failure as a typed error (httpx errors become connection errors)."""
    if isinstance(failure, ModelsLabError):
        return failure
    if isinstance(failure, httpx.HTTPError):
        return error_from_transport(failure, streaming=True)
    raise failure  # pragma: no cover - the reader returns only the two kinds above


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
