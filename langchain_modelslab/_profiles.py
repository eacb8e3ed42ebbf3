"""What is known about the models ModelsLab serves: LangChain profiles and sampling defaults."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import ModelProfile

__all__ = ["model_profile", "recommended_sampling"]

# Magistral Small 2506 (mistralai/Magistral-Small-2506 model card): 128k window, but Mistral
# recommends at most 40k, which is what is served; it reasons in <think> before answering;
# Mistral tool calling; text only (the vision encoder came with 2509).
_MAGISTRAL_SMALL_2506: ModelProfile = {
    "name": "Magistral Small 2506",
    "release_date": "2025-06-10",
    "open_weights": True,
    "max_input_tokens": 40_960,
    "max_output_tokens": 40_960,
    "text_inputs": True,
    "image_inputs": False,
    "text_outputs": True,
    "reasoning_output": True,
    "tool_calling": True,
    "tool_choice": True,
    "structured_output": False,
    "temperature": True,
}

_PROFILES: dict[str, ModelProfile] = {
    "mistralai-magistral-small-2506": _MAGISTRAL_SMALL_2506,
}

# The model card's sampling recommendation for every Magistral model.
_MAGISTRAL_SAMPLING: dict[str, Any] = {"temperature": 0.7, "top_p": 0.95}


def model_profile(model: str) -> ModelProfile | None:
    """The profile of a known model (ids compare case-insensitively), else None."""
    profile = _PROFILES.get(model.lower())
    return ModelProfile(**profile) if profile is not None else None


def recommended_sampling(model: str) -> dict[str, Any]:
    """Sampling defaults for `model` when the caller set none (Magistral: 0.7 / 0.95)."""
    return dict(_MAGISTRAL_SAMPLING) if "magistral" in model.lower() else {}
