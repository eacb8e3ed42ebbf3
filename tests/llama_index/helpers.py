"""Constants shared by the LlamaIndex adapter tests (a uniquely named module: tests/ has no
packages, so pytest imports test helpers by file name)."""

from __future__ import annotations

from collections.abc import Callable

from llama_index_modelslab import ModelsLabLLM

KEY = "test-key-llamaindex-0123456789"
PLAIN_MODEL = "meta-llama-llama-3.1-8b-instruct"  # a model that does not think

MakeLLM = Callable[..., ModelsLabLLM]
