"""What is known about the models ModelsLab serves, written once for both adapters.

Each entry gives the context window, the context a host that follows the vendor's advice
serves, the most output tokens, how the model reasons, whether it takes tools and images, and
the vendor's recommended sampling. Ids compare case-insensitively. Figures come from the model
cards and the providers' listings that ModelsLab routes to; where a figure is the provider's
published limit rather than the card's, the comment says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Literal

__all__ = [
    "MODELS",
    "UNKNOWN_MODEL_MAX_TOKENS",
    "ConversationRules",
    "ModelInfo",
    "ReasoningStyle",
    "model_info",
]

#: How a model's reasoning reaches the client:
#: - ``none``: it does not reason (or never shows it);
#: - ``inline``: in ``content``, between ``<think>`` (or ``[THINK]``) and its closing tag;
#: - ``template_opened``: in ``content`` up to ``</think>``; the chat template opened the tag,
#:   so the output carries only the closing one (DeepSeek-R1 distills);
#: - ``field``: in a separate ``reasoning_content`` / ``reasoning`` field of the message;
#: - ``blocks``: as Mistral-native ``{"type": "thinking"}`` content blocks.
ReasoningStyle = Literal["none", "inline", "template_opened", "field", "blocks"]

#: Which conversations a model's host accepts:
#: - ``any``: every role order the OpenAI chat format allows (sent as built);
#: - ``mistral``: Mistral's tokenizer validates it first (mistral-common, as vLLM serves Mistral
#:   models): no ``user`` right after ``tool``, no empty assistant message, no trailing
#:   assistant message (see `_conversation`).
ConversationRules = Literal["any", "mistral"]

#: ``max_tokens`` sent for a model the catalogue does not know when the caller set none: well
#: above the server's 1000-token default, small enough for any current model's context.
UNKNOWN_MODEL_MAX_TOKENS = 4096

_NO_SAMPLING: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model: its limits, how it reasons, what it takes, and how to sample it."""

    id: str
    name: str
    context_window: int
    max_output_tokens: int
    reasoning: ReasoningStyle = "none"
    tools: bool = True
    images: bool = False
    #: The context a host serves when it follows the vendor's advice (Magistral: 40,960 of a
    #: 128k window); requests must fit in it. Defaults to the whole window.
    served_context: int = 0
    # A factory: before Python 3.12 dataclasses refuse a mappingproxy default (unhashable).
    sampling: Mapping[str, float] = field(default_factory=lambda: _NO_SAMPLING)
    aliases: tuple[str, ...] = ()
    #: False for models that refuse temperature/top_p (OpenAI's reasoning models).
    takes_sampling: bool = True
    #: The conversation rules its host applies before generating (`ConversationRules`).
    conversation: ConversationRules = "any"

    @property
    def reasons(self) -> bool:
        """Whether the model reasons before answering."""
        return self.reasoning != "none"

    @property
    def context_limit(self) -> int:
        """The context a request must fit in: the served context, else the whole window."""
        return self.served_context or self.context_window


def _sampling(temperature: float, top_p: float | None = None) -> Mapping[str, float]:
    values = {"temperature": temperature}
    if top_p is not None:
        values["top_p"] = top_p
    return MappingProxyType(values)


# The families below state what their members share: an entry states only what differs.
#: Most models: a 128k window and 32,768 output tokens.
_MODEL = partial(ModelInfo, context_window=131_072, max_output_tokens=32_768)
#: Reasoning in a separate field of the message (as the providers serve it).
_FIELD_REASONER = partial(_MODEL, reasoning="field")
#: OpenAI's reasoning models: reasoning in a field, images, and no sampling parameters.
_OPENAI_REASONER = partial(_FIELD_REASONER, images=True, takes_sampling=False)
#: OpenAI's GPT-5 family (provider listing): 400k context, 128k output.
_GPT_5 = partial(_OPENAI_REASONER, context_window=400_000, max_output_tokens=128_000)

MODELS: tuple[ModelInfo, ...] = (
    # Mistral's card: 128k window, but "we recommend setting the maximal model length to 40960"
    # and max_tokens up to 40960; <think>…</think> in content; temperature 0.7, top_p 0.95.
    _MODEL(
        "mistralai-Magistral-Small-2506",
        "Magistral Small 2506",
        served_context=40_960,
        max_output_tokens=40_960,
        reasoning="inline",
        sampling=_sampling(0.7, 0.95),
        conversation="mistral",
    ),
    # OpenAI's card: 131,072 context; reasoning comes in a separate field via the providers.
    # Output: 32,768 on the gateways' listings (Vercel AI Gateway, OpenRouter via Bifrost,
    # models.dev), not the whole window.
    _FIELD_REASONER("openai-gpt-oss-20b", "OpenAI GPT-OSS 20B", sampling=_sampling(1.0, 1.0)),
    # Qwen's card: 262,144 native context; 16,384 output recommended for the Instruct model.
    _MODEL(
        "Qwen-Qwen3-Next-80B-A3B-Instruct",
        "Qwen3 Next 80B A3B Instruct",
        context_window=262_144,
        max_output_tokens=16_384,
        sampling=_sampling(0.7, 0.8),
        aliases=("qwen-qwen3-next-80b-a3b-instruct-free",),
    ),
    # OpenAI GPT-5 family (provider listing): 400k context, 128k output; reasoning in a field;
    # reasoning models take no sampling parameters (`_GPT_5`).
    _GPT_5("openai-gpt-5.4-nano", "OpenAI GPT-5.4 Nano"),
    _GPT_5("openai-gpt-5.4-pro", "OpenAI GPT-5.4 Pro"),
    # OpenAI o3 (provider listing): 200k context, 100k output.
    _OPENAI_REASONER("openai-o3", "OpenAI o3", context_window=200_000, max_output_tokens=100_000),
    # NVIDIA Nemotron Nano v2 (cards): 128k context; reasoning in a field via the providers.
    _FIELD_REASONER(
        "nvidia-nemotron-nano-12b-v2-vl-free", "NVIDIA Nemotron Nano 12B 2 VL", images=True
    ),
    _FIELD_REASONER("nvidia-nemotron-nano-9b-v2-free", "NVIDIA Nemotron Nano 9B V2"),
    # Gemma 4 31B (provider listing): text and image input; no visible reasoning.
    _MODEL(
        "google-gemma-4-31B-it",
        "Gemma 4 31B-it",
        max_output_tokens=8_192,
        images=True,
        sampling=_sampling(1.0, 0.95),
        aliases=("google-gemma-4-31b-it-free",),
    ),
    # Inception Mercury 2 (provider listing): a diffusion reasoning model, 128k context.
    _FIELD_REASONER(
        "inception-mercury-2",
        "Inception Mercury 2",
        context_window=128_000,
        max_output_tokens=16_384,
    ),
    # Qwen3-VL-235B-A22B-Instruct (card): 262,144 context, images, no thinking in Instruct.
    _MODEL(
        "Qwen-Qwen3-VL-235B-A22B-Instruct-FP8",
        "Qwen3-VL-235B-A22B-Instruct-FP8",
        context_window=262_144,
        images=True,
        sampling=_sampling(0.7, 0.8),
    ),
    # DeepSeek-R1-Distill-Llama-70B (card): 128k context; its template opens <think> itself, so
    # raw output carries only </think>; temperature 0.6, top_p 0.95.
    _MODEL(
        "deepseek-deepseek-r1-distill-llama-70b",
        "DeepSeek R1 Distill Llama 70B",
        reasoning="template_opened",
        tools=False,
        sampling=_sampling(0.6, 0.95),
    ),
    # Llama 3.1 8B Instruct (card): 128k context; temperature 0.6, top_p 0.9.
    _MODEL(
        "meta-llama-llama-3.1-8b-instruct",
        "Meta Llama 3.1 8B Instruct",
        max_output_tokens=16_384,
        sampling=_sampling(0.6, 0.9),
    ),
    # Qwen3 Max (Vercel AI Gateway listing, Alibaba-served): 262,144 context, 65,536 output;
    # no visible reasoning.
    _MODEL("qwen-qwen3-max", "Qwen3 Max", context_window=262_144, max_output_tokens=65_536),
    # Qwen3-30B-A3B (card): 40,960 positions (32,768 + room); thinks in <think> by default;
    # thinking-mode sampling temperature 0.6, top_p 0.95.
    _MODEL(
        "Qwen-Qwen3-30B-A3B",
        "Qwen3 30B A3B",
        context_window=40_960,
        reasoning="inline",
        sampling=_sampling(0.6, 0.95),
    ),
    # Mistral Small 3.1 24B Instruct (card): 128k context, images; low temperature (0.15).
    _MODEL(
        "mistralai-mistral-small-3.1-24b-instruct",
        "Mistral Small 3.1 24B",
        images=True,
        sampling=_sampling(0.15),
        conversation="mistral",
    ),
    # xAI Grok 3 Mini (provider listing): 131,072 context; reasoning in a field. No listing
    # states an output limit: 32,768 is a conservative figure.
    _FIELD_REASONER("x-ai-grok-3-mini-beta", "xAI Grok 3 Mini Beta"),
)

_BY_ID: dict[str, ModelInfo] = {
    name.lower(): info for info in MODELS for name in (info.id, *info.aliases)
}


def model_info(model: str) -> ModelInfo | None:
    """The catalogue entry of `model` (either spelling, any case), or None if unknown.

    >>> model_info("mistralai-magistral-small-2506").served_context
    40960
    """
    return _BY_ID.get(model.lower())
