"""The cache of clients an adapter model keeps: a sync and an async client per distinct
settings. The clients (and httpx) load when the first one is built, not at import."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import httpx

    from .. import AsyncModelsLabClient, ClientSettings, ModelsLabClient

__all__ = ["ClientCache"]

_CACHE_SIZE = 16
_C = TypeVar("_C", "ModelsLabClient", "AsyncModelsLabClient")


# What tells two clients apart: the settings, the injected httpx client, the limiter's URL and
# fallback (the limiter is not a setting: `limits.limiter_for` resolves it per client).
_Key = tuple["ClientSettings", object, "str | None", bool]


class _Clients(Generic[_C]):
    """One kind's clients by key, the last one used found by identity: an adapter passes the
    same settings object until a field changes, so most calls hash nothing."""

    __slots__ = ("_by_key", "_last")

    def __init__(self) -> None:
        self._by_key: OrderedDict[_Key, _C] = OrderedDict()
        self._last: tuple[_Key, _C] | None = None

    def get(self, lock: threading.Lock, key: _Key, kind: str) -> _C:
        last = self._last
        if last is not None:
            seen = last[0]
            if seen[0] is key[0] and seen[1] is key[1] and seen[2:] == key[2:]:
                return last[1]
        with lock:
            client = self._by_key.get(key)
            if client is None:
                client = self._by_key[key] = _build(kind, *key)
                if len(self._by_key) > _CACHE_SIZE:
                    self._by_key.popitem(last=False)
            else:
                self._by_key.move_to_end(key)
            self._last = (key, client)
            return client

    def take_all(self, lock: threading.Lock) -> list[_C]:
        with lock:
            clients, self._by_key, self._last = list(self._by_key.values()), OrderedDict(), None
        return clients


def _build(kind: str, settings: ClientSettings, http: Any, url: str | None, fallback: bool) -> Any:
    from .. import AsyncModelsLabClient, ModelsLabClient  # asyncio loads on first async use

    cls = ModelsLabClient if kind == "sync" else AsyncModelsLabClient
    return cls(settings, http_client=http, limiter_url=url, limiter_fallback=fallback)


class ClientCache:
    """The clients of one adapter model: a sync and an async client per distinct settings.

    Keyed by `(settings, http_client, limiter_url, limiter_fallback)`, so a model whose fields
    changed never talks through a client built for other settings. At most 16 of each are kept;
    an evicted client is not closed (a call may still be using it), `close`/`aclose` close every
    one still held. A copy
    (deepcopy, pickle) starts empty: clients hold pools and locks, neither copyable nor
    picklable.
    """

    __slots__ = ("_async", "_lock", "_sync")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: _Clients[ModelsLabClient] = _Clients()
        self._async: _Clients[AsyncModelsLabClient] = _Clients()

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientCache:
        return ClientCache()

    def __reduce__(self) -> tuple[type[ClientCache], tuple[()]]:
        return (ClientCache, ())

    def sync(
        self,
        settings: ClientSettings,
        http_client: httpx.Client | None = None,
        limiter_url: str | None = None,
        limiter_fallback: bool = False,
    ) -> ModelsLabClient:
        """The sync client for these settings, built on first use."""
        key = (settings, http_client, limiter_url, limiter_fallback)
        return self._sync.get(self._lock, key, "sync")

    def async_(
        self,
        settings: ClientSettings,
        http_client: httpx.AsyncClient | None = None,
        limiter_url: str | None = None,
        limiter_fallback: bool = False,
    ) -> AsyncModelsLabClient:
        """The async client for these settings (safe across event loops)."""
        key = (settings, http_client, limiter_url, limiter_fallback)
        return self._async.get(self._lock, key, "async")

    def close(self) -> None:
        """Close the sync clients' connection pools; later calls open new ones."""
        for client in self._sync.take_all(self._lock):
            client.close()

    async def aclose(self) -> None:
        """Close every pool: the sync ones, and the async ones of the running event loop."""
        self.close()
        for client in self._async.take_all(self._lock):
            await client.aclose()
