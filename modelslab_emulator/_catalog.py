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

    @property
    def thinks(self) -> bool:
        """Whether the model reasons before answering."""
        return self.reasoning != "none"


CREATED = 1750000000
MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("mistralai-Magistral-Small-2506", "mistralai", 40_960, "inline"),
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
