"""LlamaIndex integration for ModelsLab's LLM API: `ModelsLabLLM`.

>>> from llama_index_modelslab import ModelsLabLLM
>>> llm = ModelsLabLLM(api_key="sk-...")  # doctest: +SKIP
>>> llm.complete("Name the capital of France.").text  # doctest: +SKIP
'Paris.'
"""

from __future__ import annotations

_INSTALL_HINT = 'pip install "modelslab-integrations[llama-index]"'

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"llama_index_modelslab needs llama-index-core; install the extra: {_INSTALL_HINT}"
    ) from exc

try:
    from llama_index.core.base.llms.types import ThinkingBlock, ToolCallBlock  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only with an old llama-index-core
    raise ImportError(
        "llama_index_modelslab needs llama-index-core >= 0.14.5 (ToolCallBlock); "
        f"upgrade with: {_INSTALL_HINT} --upgrade"
    ) from exc

from .base import ModelsLabLLM  # noqa: E402  (after the dependency checks above)

__all__ = ["ModelsLabLLM"]
