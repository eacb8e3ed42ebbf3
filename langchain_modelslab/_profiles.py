"""LangChain's view of the transport's model catalogue: a `ModelProfile` per catalogue model."""

from __future__ import annotations

from langchain_core.language_models import ModelProfile

from modelslab_transport.models import model_info

__all__ = ["model_profile"]


def model_profile(model: str) -> ModelProfile | None:
    """The profile of a catalogue model (ids compare case-insensitively), else None.

    `max_input_tokens` is the context a request must fit in (Magistral: the 40,960 its card
    recommends serving, not the 128k window), so `SummarizationMiddleware(trigger=("fraction",
    0.5))` and friends measure against what the host accepts.
    """
    info = model_info(model)
    if info is None:
        return None
    return ModelProfile(
        name=info.name,
        max_input_tokens=info.context_limit,
        max_output_tokens=info.max_output_tokens,
        text_inputs=True,
        image_inputs=info.images,
        image_url_inputs=info.images,
        text_outputs=True,
        reasoning_output=info.reasons,
        tool_calling=info.tools,
        tool_choice=info.tools,
        tool_call_streaming=info.tools,
        # json_schema is undocumented on ModelsLab; with_structured_output defaults to tools.
        structured_output=False,
        temperature=info.takes_sampling,
    )
