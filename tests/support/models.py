"""The adapters' models pointed at the session's emulator, as the `make_chat_model` and
`make_llm` fixtures (tests/conftest.py) and the fidelity sides build them, and the keys and
model ids the adapter tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.support.scenarios import SCENARIO_HEADER, unique

if TYPE_CHECKING:
    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

KEY = "test-key-llamaindex-0123456789"  # make_llm's key
CHAT_MODEL_KEY = "test-key-mistral-host-0123"  # make_chat_model's key
PLAIN_MODEL = "meta-llama-llama-3.1-8b-instruct"  # a model that does not think

MakeLLM = Callable[..., "ModelsLabLLM"]
MakeChatModel = Callable[..., "ChatModelsLab"]


def build_chat_model(base_url: str, /, scenario: str | None = None, **kwargs: Any) -> ChatModelsLab:
    """A ChatModelsLab on `base_url` (unless `base_url=` says otherwise); `scenario` (made
    unique) sets X-Emulator-Scenario."""
    from langchain_modelslab import ChatModelsLab

    if scenario:
        kwargs["default_headers"] = {
            **(kwargs.get("default_headers") or {}),
            SCENARIO_HEADER: unique(scenario),
        }
    kwargs.setdefault("api_key", CHAT_MODEL_KEY)
    kwargs.setdefault("base_url", base_url)
    return ChatModelsLab(**kwargs)


def build_llm(base_url: str, /, scenario: str | None = None, **kwargs: Any) -> ModelsLabLLM:
    """A ModelsLabLLM on `base_url` (unless `base_url=` says otherwise); `scenario` (as given)
    sets X-Emulator-Scenario."""
    from llama_index_modelslab import ModelsLabLLM

    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("base_url", base_url)
    if scenario:
        kwargs["default_headers"] = {SCENARIO_HEADER: scenario}
    return ModelsLabLLM(**kwargs)
