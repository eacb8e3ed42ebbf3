"""What the sync and async clients share (settings, the key's in-flight gate, the typed
error for an unsent request, a whole answer replayed as events): neither client imports the
other."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING

import httpx

from ._decoding import completion_from
from ._errors import APIConnectionError, InvalidInputError
from ._events import StreamEvent
from ._failures import check_answer, error_from_transport
from ._limiter import KeySlots, slots_for_key
from ._retry import log_attempt
from ._settings import MACHINE_LIMITER, PROCESS_LIMITER, ClientSettings, SettingsKwargs
from ._stream_reader import completion_events

if TYPE_CHECKING:
    from ._machine_limiter import MachineSlots
    from ._redis_limiter import RedisSlots

__all__ = ["ClientCore"]


class ClientCore:
    """What the sync and async clients share: settings and the key's in-flight gate."""

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
        self._local: KeySlots = slots_for_key(self._secret)
        self._shared: RedisSlots | MachineSlots | None = None
        if settings.limiter_url in (None, MACHINE_LIMITER):
            from ._machine_limiter import machine_slots  # None where it cannot work (logged)

            self._shared = machine_slots(
                self._secret, settings.base_url, acquire_timeout=settings.acquire_timeout
            )
        elif settings.limiter_url != PROCESS_LIMITER:
            from ._redis_limiter import redis_slots  # redis loads only when asked for

            self._shared = redis_slots(
                settings.limiter_url,
                self._secret,
                acquire_timeout=settings.acquire_timeout,
                fallback_to_local=settings.limiter_fallback,
            )

    def _limit(self) -> int | None:
        """This request's in-flight limit: the setting, or the plan's limit a 429 stated when
        lower and the user left the setting at its default."""
        limit = self.settings.max_concurrent_requests
        learned = self._local.learned
        if learned is not None and self.settings.learn_queue_limit:
            limit = learned if limit is None else min(limit, learned)
        return limit

    def _hold(self) -> AbstractContextManager[None]:
        """The slot a sync request holds while in flight (shared by this machine's processes by
        default, or through Redis)."""
        if self._shared is not None:
            return self._shared.hold(self._limit())
        return self._local.hold(self._limit(), self.settings.acquire_timeout)

    def _hold_async(self) -> AbstractAsyncContextManager[None]:
        """The same for an async request (never blocks the event loop)."""
        if self._shared is not None:
            return self._shared.hold_async(self._limit())
        return self._local.hold_async(self._limit(), self.settings.acquire_timeout)

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
