"""ChatModelsLab's profile for every catalogue model (and its aliases), as LangChain's
summarization middleware reads it (the defaults both adapters take from the catalogue:
tests/fidelity/test_max_tokens_defaults.py)."""

from __future__ import annotations

import pytest

import modelslab_transport as mt
from langchain_modelslab import ChatModelsLab

KEY = "test-key-max-tokens-0123"


@pytest.mark.parametrize("info", mt.MODELS, ids=[m.id for m in mt.MODELS])
def test_every_catalogue_model_has_a_profile(info: mt.ModelInfo) -> None:
    from langchain.agents.middleware import SummarizationMiddleware

    llm = ChatModelsLab(api_key=KEY, model=info.id)
    profile = llm.profile
    assert profile is not None
    assert profile["max_input_tokens"] == info.context_limit
    assert profile["max_output_tokens"] == info.max_output_tokens
    assert profile["reasoning_output"] is info.reasons
    assert profile["tool_calling"] is info.tools
    assert profile["image_inputs"] is info.images
    for alias in info.aliases:
        assert ChatModelsLab(api_key=KEY, model=alias).profile == profile
    # A fraction of the context is a trigger only a model with a profile can take.
    SummarizationMiddleware(model=llm, trigger=("fraction", 0.5))
