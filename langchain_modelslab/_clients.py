"""The transport clients behind a `ChatModelsLab`, built lazily and reused across calls."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import httpx

from modelslab_transport import AsyncModelsLabClient, ModelsLabClient

from ._errors import transport_call

__all__ = ["ClientCache"]


class ClientCache:
    """One sync and one async client per distinct set of settings.

    Keyed by the settings, so a model whose fields change (or a `model_copy` that shares this
    cache) never talks through a client built for other settings. A copy starts empty:
    clients hold connection pools and locks, which are neither copyable nor picklable.
    """

    __slots__ = ("_async", "_lock", "_sync")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: dict[tuple[Any, ...], ModelsLabClient] = {}
        self._async: dict[tuple[Any, ...], AsyncModelsLabClient] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientCache:
        return ClientCache()

    def __reduce__(self) -> tuple[type[ClientCache], tuple[()]]:
        return (ClientCache, ())

    def sync(
        self, settings: Mapping[str, Any], http_client: httpx.Client | None
    ) -> ModelsLabClient:
        """The sync client for these settings (transport settings errors re-raised typed)."""
        key = _fingerprint(settings, http_client)
        with self._lock:
            client = self._sync.get(key)
            if client is None:
                client = transport_call(
                    lambda: ModelsLabClient(**settings, http_client=http_client)
                )
                self._sync[key] = client
            return client

    def async_(
        self, settings: Mapping[str, Any], http_client: httpx.AsyncClient | None
    ) -> AsyncModelsLabClient:
        """The async client for these settings (it is safe across event loops)."""
        key = _fingerprint(settings, http_client)
        with self._lock:
            client = self._async.get(key)
            if client is None:
                client = transport_call(
                    lambda: AsyncModelsLabClient(**settings, http_client=http_client)
                )
                self._async[key] = client
            return client

    def close(self) -> None:
        """Close the sync clients' connection pools; later calls open new ones."""
        with self._lock:
            clients, self._sync = list(self._sync.values()), {}
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        """Close every pool: the sync ones, and the async ones of the running event loop."""
        self.close()
        with self._lock:
            clients, self._async = list(self._async.values()), {}
        for client in clients:
            await client.aclose()


def _fingerprint(settings: Mapping[str, Any], http_client: object) -> tuple[Any, ...]:
    # SecretStr compares by value without exposing it; Timeout and headers via stable forms.
    items = []
    for name in sorted(settings):
        value = settings[name]
        if isinstance(value, Mapping):
            value = tuple(sorted(value.items()))
        elif isinstance(value, httpx.Timeout):
            value = repr(value)
        items.append((name, value))
    return (*items, id(http_client))
