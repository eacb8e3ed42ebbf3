"""Fixtures for the fidelity tests: each test runs once per adapter, on each host profile."""

from __future__ import annotations

import pytest

from tests.support.models import MakeLLM

from .sides import LangChainSide, LlamaIndexSide, Side


@pytest.fixture(params=["langchain", "llama_index"])
def side(request: pytest.FixtureRequest, base_url: str, make_llm: MakeLLM) -> Side:
    """ChatModelsLab, then ModelsLabLLM, on the session's emulator."""
    if request.param == "langchain":
        return LangChainSide(base_url)
    return LlamaIndexSide(make_llm)
