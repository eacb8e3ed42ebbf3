"""The models the emulator serves, with their context windows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    """One served model."""

    id: str
    owned_by: str
    context_window: int
    #: ``inline`` (``<think>…</think>`` in the content), ``template_opened`` (the chat template
    #: opened ``<think>``, so the output carries only ``</think>``) or ``none``.
    reasoning: str = "none"
    #: The context the host serves: prompt plus ``max_tokens`` must fit in it, else vLLM's 400.
    #: None: only the prompt is checked, against the window.
    served_context: int | None = None
    #: ``mistral``: a vLLM host serves it in Mistral tokenizer mode (mistral-common validates
    #: the conversation, tekken counts the prompt); ``hf``: a Hugging Face chat template.
    tokenizer: str = "hf"

    @property
    def thinks(self) -> bool:
        """Whether the model reasons before answering."""
        return self.reasoning != "none"

    @property
    def deliberates(self) -> bool:
        """Magistral thinks at length: past the API's 1000-token default on its own."""
        return "magistral" in self.id.lower()


CREATED = 1750000000
MODELS: tuple[ModelInfo, ...] = (
    # Mistral's card: a 128k window, served at the 40,960 it recommends (as vLLM hosts do).
    ModelInfo(
        "mistralai-Magistral-Small-2506",
        "mistralai",
        131_072,
        "inline",
        served_context=40_960,
        tokenizer="mistral",
    ),
    ModelInfo("meta-llama-llama-3.1-8b-instruct", "meta-llama", 131_072),
    ModelInfo("Qwen-Qwen3-Next-80B-A3B-Instruct", "Qwen", 131_072),
    ModelInfo("deepseek-deepseek-r1-distill-llama-70b", "deepseek", 131_072, "template_opened"),
    ModelInfo("openai-gpt-oss-20b", "openai", 131_072),
)
_BY_ID = {model.id.lower(): model for model in MODELS}


def find_model(model_id: str) -> ModelInfo | None:
    """The served model with this id (case-insensitive), or None."""
    return _BY_ID.get(model_id.lower())


def models_listing() -> dict[str, object]:
    """Body of ``GET /v1/models``."""
    return {
        "object": "list",
        "data": [
            {"id": m.id, "object": "model", "created": CREATED, "owned_by": m.owned_by}
            for m in MODELS
        ],
    }
