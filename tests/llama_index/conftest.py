"""Fixtures for the LlamaIndex adapter tests: ModelsLabLLMs pointed at the session's emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llama_index_modelslab import ModelsLabLLM

from .helpers import KEY, MakeLLM


@pytest.fixture
def make_llm(base_url: str) -> Iterator[MakeLLM]:
    """Build ModelsLabLLMs against the emulator; `scenario=` sets X-Emulator-Scenario."""
    made: list[ModelsLabLLM] = []

    def make(scenario: str | None = None, **kwargs: Any) -> ModelsLabLLM:
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", base_url)
        if scenario:
            kwargs["default_headers"] = {"X-Emulator-Scenario": scenario}
        llm = ModelsLabLLM(**kwargs)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()


@pytest.fixture
def llm(make_llm: MakeLLM) -> ModelsLabLLM:
    """The default model (Magistral: it thinks before answering)."""
    return make_llm()
