"""The examples in the decoding modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_sse", "_reasoning", "_tool_calls", "_decoding", "_events", "_settings", "_errors"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"modelslab_transport.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
