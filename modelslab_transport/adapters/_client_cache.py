"""The cache of clients an adapter model keeps: a sync and an async client per distinct
settings. The clients (and httpx) load when the first one is built, not at import."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .. import AsyncModelsLabClient, ClientSettings, ModelsLabClient

__all__ = ["ClientCache"]

_CACHE_SIZE = 16
_C = TypeVar("_C", "ModelsLabClient", "AsyncModelsLabClient")
# What tells two clients apart: the settings, the injected httpx client, the limiter's URL and
# fallback (the limiter is not a setting: `limits.limiter_for` resolves it per client).
_Key = tuple["ClientSettings", object, "str | None", bool]


class _Clients(Generic[_C]):
    """One kind's clients, called as `cache.sync(settings, http_client, limiter_url,
    limiter_fallback)`. The last one used is found by identity: an adapter passes the same
    settings object until a field changes, so most calls hash nothing."""

    __slots__ = ("_by_key", "_kind", "_last", "_lock")

    def __init__(self, lock: threading.Lock, kind: str) -> None:
        self._lock, self._kind = lock, kind
        self._by_key: OrderedDict[_Key, _C] = OrderedDict()
        self._last: tuple[_Key, _C] | None = None

    def __call__(
        self,
        settings: ClientSettings,
        http_client: Any = None,
        limiter_url: str | None = None,
        limiter_fallback: bool = False,
    ) -> _C:
        """The client for these settings, injected httpx client and limiter, built on first
        use (an async one is safe across event loops)."""
        last = self._last
        if last is not None:
            seen = last[0]
            if (
                seen[0] is settings
                and seen[1] is http_client
                and seen[2:]
                == (
                    limiter_url,
                    limiter_fallback,
                )
            ):
                return last[1]
        key = (settings, http_client, limiter_url, limiter_fallback)
        with self._lock:
            client = self._by_key.get(key)
            if client is None:
                client = self._by_key[key] = _build(self._kind, *key)
                if len(self._by_key) > _CACHE_SIZE:
                    self._by_key.popitem(last=False)
            else:
                self._by_key.move_to_end(key)
            self._last = (key, client)
            return client

    def take_all(self) -> list[_C]:
        with self._lock:
            clients, self._by_key, self._last = list(self._by_key.values()), OrderedDict(), None
        return clients


def _build(kind: str, settings: ClientSettings, http: Any, url: str | None, fallback: bool) -> Any:
    from .. import AsyncModelsLabClient, ModelsLabClient  # asyncio loads on first async use

    cls = ModelsLabClient if kind == "sync" else AsyncModelsLabClient
    return cls(settings, http_client=http, limiter_url=url, limiter_fallback=fallback)


class ClientCache:
    """The clients of one adapter model: `sync(...)` and `async_(...)` give a client per
    distinct settings, injected httpx client and limiter.

    A model whose fields changed never talks through a client built for others. At most 16 of
    each kind are kept; an evicted client is not closed (a call may still be using it),
    `close`/`aclose` close every one still held. A copy (deepcopy, pickle) starts empty:
    clients hold pools and locks, neither copyable nor picklable.
    """

    __slots__ = ("async_", "sync")

    def __init__(self) -> None:
        lock = threading.Lock()
        self.sync: _Clients[ModelsLabClient] = _Clients(lock, "sync")
        self.async_: _Clients[AsyncModelsLabClient] = _Clients(lock, "async")

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientCache:
        return ClientCache()

    def __reduce__(self) -> tuple[type[ClientCache], tuple[()]]:
        return (ClientCache, ())

    def close(self) -> None:
        """Close the sync clients' connection pools; later calls open new ones."""
        for client in self.sync.take_all():
            client.close()

    async def aclose(self) -> None:
        """Close every pool: the sync ones, and the async ones of the running event loop."""
        self.close()
        for client in self.async_.take_all():
            await client.aclose()
