"""The httpx clients a user hands a ModelsLabLLM: shared by copies, never pickled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["InjectedHTTP"]


class InjectedHTTP:
    """The user's own httpx clients (proxies, certificates), which they close.

    Copies share them (the transport clients built over them live in the model's
    `ClientCache`, which a copy starts empty); a pickle carries none: an httpx client does not
    pickle, and a restored model builds its own pools.
    """

    __slots__ = ("async_", "sync")

    def __init__(
        self, sync: httpx.Client | None = None, async_: httpx.AsyncClient | None = None
    ) -> None:
        self.sync = sync
        self.async_ = async_

    def __copy__(self) -> InjectedHTTP:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> InjectedHTTP:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (InjectedHTTP, ())
