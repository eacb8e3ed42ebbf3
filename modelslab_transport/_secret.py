"""A minimal secret string, so that importing the transport does not need pydantic."""

from __future__ import annotations

import hmac
from typing import Any, Protocol, runtime_checkable

__all__ = ["Secret", "SecretLike"]


@runtime_checkable
class SecretLike(Protocol):
    """Anything holding a secret behind `get_secret_value()`, e.g. pydantic's `SecretStr`."""

    def get_secret_value(self) -> Any: ...


class Secret:
    """Holds the API key; shows only asterisks in repr, str and format.

    >>> Secret("sk-123")
    Secret('**********')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The key itself: use it only to build a request."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))
