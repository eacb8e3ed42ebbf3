"""Fixtures for the LlamaIndex adapter tests (`make_llm` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from llama_index_modelslab import ModelsLabLLM
from tests.support.models import MakeLLM


@pytest.fixture
def llm(make_llm: MakeLLM) -> ModelsLabLLM:
    """The default model (Magistral: it thinks before answering)."""
    return make_llm()
