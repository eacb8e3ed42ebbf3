"""What the sync and async clients share (settings, the key's in-flight gate, the typed
error for an unsent request, a whole answer replayed as events): neither client imports the
other."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager

import httpx

from ._decoding import completion_from
from ._errors import APIConnectionError, InvalidInputError, ModelsLabError
from ._events import StreamEvent
from ._failures import check_answer, error_from_transport
from ._retry import Retries, log_attempt
from ._settings import CHAT_PATH, ClientSettings, SettingsKwargs
from ._stream_reader import completion_events
from .limits import Limiter, learn_queue_limit, limiter_for

__all__ = ["POOL_LIMITS", "ClientCore"]

POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class ClientCore:
    """What the sync and async clients share: settings and the key's in-flight gate.

    A chat body without `max_tokens` (or `max_completion_tokens`) is sent with the catalogue's
    default, never the server's 1000 (`fill_max_tokens`); if the server refuses that default's
    size, the request is sent once more with the limit it states (`resized_payload`).
    """

    _owns_http: bool  # the pool is ours (built with the chat headers), not an injected one

    def __init__(
        self,
        settings: ClientSettings | None,
        kw: SettingsKwargs,
        limiter: Limiter | None = None,
        limiter_url: str | None = None,
        limiter_fallback: bool = False,
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
                limiter_url,
                self._secret,
                base_url=settings.base_url,
                fallback=limiter_fallback,
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

    def _headers(self, path: str, accept: str | None = None) -> dict[str, str] | None:
        """A request's headers: on our own pool (built with them) only what a chat call adds."""
        if self._owns_http and path == CHAT_PATH:
            return None if accept is None else {"Accept": accept}
        headers = self.settings.headers(path)
        return headers if accept is None else {**headers, "Accept": accept}

    def _hold(self) -> AbstractContextManager[None]:
        """The slot a sync request holds while in flight (this machine's, by default)."""
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
