"""A test file's own `chat_model_defaults` fixture in one line: the keywords its
`make_chat_model` models get unless a call says otherwise (a key of its own, since limits and
learned values are shared per key; sometimes a model)."""

from __future__ import annotations

from typing import Any

import pytest


def file_defaults(**defaults: Any) -> Any:
    """The `chat_model_defaults` fixture giving this file's models `defaults`: assign it to a
    module-level `chat_model_defaults`."""

    @pytest.fixture(name="chat_model_defaults")
    def chat_model_defaults() -> dict[str, Any]:
        """This file's keywords (its key, and maybe its model) for `make_chat_model`."""
        return dict(defaults)

    return chat_model_defaults
