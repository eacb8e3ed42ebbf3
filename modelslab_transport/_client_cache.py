"""The cache of clients an adapter model keeps: a sync and an async client per distinct
settings (a leaf: it imports both clients, neither imports it)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._client import ModelsLabClient
from ._settings import ClientSettings

if TYPE_CHECKING:
    from ._async_client import AsyncModelsLabClient

__all__ = ["ClientCache"]


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
