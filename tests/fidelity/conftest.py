"""Fixtures for the fidelity tests: each test runs once per adapter, on each host profile."""

from __future__ import annotations

import pytest

from ..llama_index.conftest import make_llm  # noqa: F401 - the LlamaIndex fixture, reused
from ..llama_index.helpers import MakeLLM
from .sides import LangChainSide, LlamaIndexSide, Side


@pytest.fixture(params=["langchain", "llama_index"])
def side(request: pytest.FixtureRequest, base_url: str, make_llm: MakeLLM) -> Side:  # noqa: F811
    """ChatModelsLab, then ModelsLabLLM, on the session's emulator."""
    if request.param == "langchain":
        return LangChainSide(base_url)
    return LlamaIndexSide(make_llm)
