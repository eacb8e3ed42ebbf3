"""What a client needs of a limiter: a slot held around each request, and the plan's limit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager, AbstractContextManager

__all__ = ["Limiter"]


@runtime_checkable
class Limiter(Protocol):
    """Bounds one key's requests in flight; the client holds a slot around each attempt.

    `limit` is that request's bound (None: no bound). `learn(limit)` records the plan's queue
    limit a 429 stated (True the first time it lowers what was known); `learned` is it.

    >>> with limiter.hold(5):  # doctest: +SKIP
    ...     send_the_request()
    """

    def hold(self, limit: int | None) -> AbstractContextManager[None]:
        """Block this thread until a slot is free under `limit`, then hold it."""
        ...

    def hold_async(self, limit: int | None) -> AbstractAsyncContextManager[None]:
        """Wait, without blocking the event loop, for a slot under `limit`, then hold it."""
        ...

    def learn(self, limit: int) -> bool:
        """Remember the plan's queue limit; True the first time it lowers what was known."""
        ...

    @property
    def learned(self) -> int | None:
        """The plan's queue limit a 429 stated, when lower than any before; else None."""
        ...
