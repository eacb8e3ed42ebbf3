"""Both adapters, streamed and async streamed, against a host that holds its response headers:
the typed timeout within first_byte_timeout, not after the held 4 s (real sockets)."""

from __future__ import annotations

import time

import pytest

from tests.support.loopback_app import unique_key
from tests.support.models import PLAIN_MODEL

from .sides import Side
from .turns import user


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_held_headers_raise_the_typed_timeout_within_first_byte_timeout(
    side: Side, mode: str
) -> None:
    model = side.model(
        "hold-headers;delay=4;times=-1",
        model=PLAIN_MODEL,
        api_key=unique_key(),
        first_byte_timeout=1,
    )
    started = time.monotonic()
    with pytest.raises(side.timeout[0], match="first_byte_timeout") as error:
        side.ask(model, mode, side.messages([user("Hi")]))
    assert time.monotonic() - started < 3
    assert all(isinstance(error.value, kind) for kind in side.timeout)
