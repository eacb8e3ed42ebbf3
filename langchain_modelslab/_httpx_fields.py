"""httpx types for pydantic fields, without importing httpx: it loads with the first client.

A value can only be an `httpx.Client` if httpx is already imported, so the check looks the
class up in `sys.modules` instead of importing it. Type checkers see the real types.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

__all__ = ["HttpxAsyncClient", "HttpxClient", "HttpxTimeout"]


def _instance_of(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        httpx = sys.modules.get("httpx")
        if httpx is None or not isinstance(value, getattr(httpx, name)):
            # pydantic's own error for an arbitrary type, as when the field said `httpx.Client`
            raise PydanticCustomError(
                "is_instance_of", "Input should be an instance of {class}", {"class": name}
            )
        return value

    return check


if TYPE_CHECKING:
    from httpx import AsyncClient as HttpxAsyncClient
    from httpx import Client as HttpxClient
    from httpx import Timeout as HttpxTimeout
else:
    HttpxClient = Annotated[Any, PlainValidator(_instance_of("Client"))]
    HttpxAsyncClient = Annotated[Any, PlainValidator(_instance_of("AsyncClient"))]
    HttpxTimeout = Annotated[Any, PlainValidator(_instance_of("Timeout"))]
