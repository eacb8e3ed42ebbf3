"""ModelsLabLLM's metadata for every catalogue model (the defaults both adapters take from the
catalogue: tests/fidelity/test_max_tokens_defaults.py)."""

from __future__ import annotations

import pytest

import modelslab_transport as mt
from llama_index_modelslab import ModelsLabLLM
from tests.support.models import KEY


@pytest.mark.parametrize("info", mt.MODELS, ids=[m.id for m in mt.MODELS])
def test_metadata_from_the_catalogue(info: mt.ModelInfo) -> None:
    meta = ModelsLabLLM(info.id, api_key=KEY).metadata
    assert meta.context_window == info.context_limit
    assert meta.num_output == min(info.max_output_tokens, info.context_limit // 2)
    assert meta.num_output < meta.context_window  # room is left for the prompt
    assert meta.is_function_calling_model is info.tools
