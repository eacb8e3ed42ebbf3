"""The connection-holding, never-serialised part of a ModelsLabLLM."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from modelslab_transport import AsyncModelsLabClient, ModelsLabClient

__all__ = ["_Clients"]


class _Clients:
    """The lazily built transport clients of one ModelsLabLLM.

    Connections are not state: copies share the injected httpx clients but build their own
    transport clients, and a pickle carries nothing (an unpicklable httpx client stays behind).
    """

    def __init__(
        self,
        http: httpx.Client | None = None,
        async_http: httpx.AsyncClient | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.http = http
        self.async_http = async_http
        self.sync: ModelsLabClient | None = None
        self.async_: AsyncModelsLabClient | None = None

    def __copy__(self) -> _Clients:
        return _Clients(self.http, self.async_http)

    def __deepcopy__(self, memo: dict[int, Any]) -> _Clients:
        return _Clients(self.http, self.async_http)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Clients, ())
