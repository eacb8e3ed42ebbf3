"""One transport call in each of the four runners (chat, stream, achat, astream), and the check
every typed error passes: raised as its type, one line, the key in neither text nor body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import ModelsLabError
from tests.support.transport_calls import MAGISTRAL, answer_in_mode, payload

KEY = "sk-fault-canary-5b1e0d"
RUNNERS = ["chat", "stream", "achat", "astream"]


def run(mode: str, emulator: Emulator, headers: dict[str, str], **options: Any) -> str:
    """Make one call in `mode` and return the answer text."""
    body = options.pop("body", None) or payload("fault test", model=MAGISTRAL)
    kwargs: dict[str, Any] = {
        "api_key": options.pop("api_key", KEY),
        "base_url": emulator.base_url,
        "default_headers": headers,
        **options,
    }
    return answer_in_mode(mode, body, **kwargs)


def expect(
    error_type: type[ModelsLabError], call: Callable[[], Any], *, key: str = KEY
) -> ModelsLabError:
    with pytest.raises(error_type) as info:
        call()
    error = info.value
    assert key not in str(error) and key not in repr(error)
    assert key not in str(error.body)
    assert str(error) and "\n" not in str(error)
    return error
