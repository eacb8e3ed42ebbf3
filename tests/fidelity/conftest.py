"""Fixtures for the tests both adapters share: each test runs once per adapter (its side)."""

from __future__ import annotations

import pytest

from tests.support.models import MakeChatModel, MakeLLM

from .sides import LangChainSide, LlamaIndexSide, Side


@pytest.fixture(params=["langchain", "llama_index"])
def side(request: pytest.FixtureRequest, make_chat_model: MakeChatModel, make_llm: MakeLLM) -> Side:
    """ChatModelsLab, then ModelsLabLLM, on the session's emulator."""
    if request.param == "langchain":
        return LangChainSide(make_chat_model)
    return LlamaIndexSide(make_llm)
