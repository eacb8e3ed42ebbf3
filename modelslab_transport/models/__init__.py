"""What the transport knows about the models ModelsLab serves, in one place for both adapters.

The catalogue (`model_info`, `MODELS`) and the sampling its cards recommend; the default
`max_tokens` (`fill_max_tokens`: the budget, with the served context a host stated, learned per
base URL and model) and the one resize retry (`resized_payload`); the conversation rules of the
Mistral family (`shape_conversation`); the documented parameter ranges and message shapes
(`validate_params`, `validate_messages`); the count_tokens and models endpoints' bodies; and
the structured-output fallback policy.
`build_chat_payload` calls these while it builds a body, so the body an adapter builds (and
logs) is the body sent.
"""

from __future__ import annotations

from ._budget import (
    ESTIMATE_SLACK,
    MAX_TOKENS_FLOOR,
    PROMPT_MARGIN,
    REASONING_MAX_TOKENS_FLOOR,
    ChatPayload,
    default_max_tokens,
    estimate_prompt_tokens,
    fill_max_tokens,
    max_tokens_in,
    max_tokens_sent,
    resized_payload,
    smaller_max_tokens,
)
from ._catalog import (
    MODELS,
    UNKNOWN_MODEL_MAX_TOKENS,
    ConversationRules,
    ModelInfo,
    ReasoningStyle,
    model_info,
)
from ._conversation import BRIDGE_TEXT, shape_conversation, shape_mistral_conversation
from ._endpoints import count_tokens_body, input_tokens_from_body, models_from_body
from ._host_limits import HostLimits, forget_host_limits, host_limits, learn_host_limits
from ._params import validate_messages, validate_params
from ._sampling import sampling_defaults
from ._structured import (
    FALLBACK_ORDER,
    StructuredMethod,
    fallback_methods,
    is_format_refusal,
    json_mode_instruction,
)

__all__ = [
    "BRIDGE_TEXT",
    "ESTIMATE_SLACK",
    "FALLBACK_ORDER",
    "MAX_TOKENS_FLOOR",
    "MODELS",
    "PROMPT_MARGIN",
    "REASONING_MAX_TOKENS_FLOOR",
    "UNKNOWN_MODEL_MAX_TOKENS",
    "ChatPayload",
    "ConversationRules",
    "HostLimits",
    "ModelInfo",
    "ReasoningStyle",
    "StructuredMethod",
    "count_tokens_body",
    "default_max_tokens",
    "estimate_prompt_tokens",
    "fallback_methods",
    "fill_max_tokens",
    "forget_host_limits",
    "host_limits",
    "input_tokens_from_body",
    "is_format_refusal",
    "json_mode_instruction",
    "learn_host_limits",
    "max_tokens_in",
    "max_tokens_sent",
    "model_info",
    "models_from_body",
    "resized_payload",
    "sampling_defaults",
    "shape_conversation",
    "shape_mistral_conversation",
    "smaller_max_tokens",
    "validate_messages",
    "validate_params",
]
