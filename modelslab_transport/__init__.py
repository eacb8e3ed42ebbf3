"""A thin, typed transport for ModelsLab's LLM API, shared by the LangChain and LlamaIndex
adapters: auth, request payloads, retries, timeouts, per-key concurrency limits, SSE decoding,
neutral stream events and typed errors, over httpx. No framework imports.

>>> from modelslab_transport import ModelsLabClient, build_chat_payload, DEFAULT_MODEL
>>> client = ModelsLabClient()  # doctest: +SKIP  (reads MODELSLAB_API_KEY)
>>> payload = build_chat_payload(DEFAULT_MODEL, [{"role": "user", "content": "Hi"}])
>>> for event in client.stream_chat(payload):  # doctest: +SKIP
...     print(event)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._decoding import StreamDecoder, parse_completion
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ContextLengthExceededError,
    EventLoopBlockedError,
    IncompleteStreamError,
    InsufficientCreditsError,
    InvalidConversationError,
    InvalidInputError,
    LimiterError,
    LimiterTimeoutError,
    LimiterUnavailableError,
    MissingAPIKeyError,
    ModelsLabError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from ._events import (
    ChatCompletion,
    Choice,
    ChoiceAccumulator,
    FinishEvent,
    PartialToolCall,
    ReasoningDelta,
    StreamAccumulator,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    accumulate,
)
from ._payload import build_chat_payload, max_tokens_sent
from ._reasoning import ThinkSplitter
from ._settings import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    LIMITER_URL_ENV,
    ClientSettings,
    Secret,
    SettingsKwargs,
    Timeouts,
    __version__,
    default_of,
    resolve_settings,
)
from ._sse import ServerSentEvent, SSEDecoder
from ._tool_calls import (
    ToolCallAssembler,
    normalize_tool_call_id,
    tool_choice_for_wire,
    wire_tool_call,
)
from .models import (
    BRIDGE_TEXT,
    FALLBACK_ORDER,
    MAX_TOKENS_FLOOR,
    MODELS,
    PROMPT_MARGIN,
    REASONING_MAX_TOKENS_FLOOR,
    UNKNOWN_MODEL_MAX_TOKENS,
    ConversationRules,
    HostLimits,
    ModelInfo,
    ReasoningStyle,
    StructuredMethod,
    default_max_tokens,
    estimate_prompt_tokens,
    fallback_methods,
    fill_max_tokens,
    forget_host_limits,
    host_limits,
    is_format_refusal,
    json_mode_instruction,
    model_info,
    resized_payload,
    sampling_defaults,
    shape_conversation,
    smaller_max_tokens,
    validate_params,
)

if TYPE_CHECKING:
    from ._async_client import AsyncModelsLabClient
    from ._client import ModelsLabClient
    from ._client_cache import ClientCache
    from .limits._url import limiter_url_has_password, masked_limiter_url

# Loaded on first use, for a faster `import`: the clients bring httpx (and the async one
# asyncio), the limiter URL helpers the limits package.
_LAZY = {
    "AsyncModelsLabClient": "._async_client",
    "ClientCache": "._client_cache",
    "ModelsLabClient": "._client",
    "limiter_url_has_password": ".limits._url",
    "masked_limiter_url": ".limits._url",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(module, __name__), name)
    return value


__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "BRIDGE_TEXT",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "FALLBACK_ORDER",
    "LIMITER_URL_ENV",
    "MAX_TOKENS_FLOOR",
    "MODELS",
    "PROMPT_MARGIN",
    "REASONING_MAX_TOKENS_FLOOR",
    "UNKNOWN_MODEL_MAX_TOKENS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncModelsLabClient",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ChatCompletion",
    "Choice",
    "ChoiceAccumulator",
    "ClientCache",
    "ClientSettings",
    "ContextLengthExceededError",
    "ConversationRules",
    "EventLoopBlockedError",
    "FinishEvent",
    "HostLimits",
    "IncompleteStreamError",
    "InsufficientCreditsError",
    "InvalidConversationError",
    "InvalidInputError",
    "LimiterError",
    "LimiterTimeoutError",
    "LimiterUnavailableError",
    "MissingAPIKeyError",
    "ModelInfo",
    "ModelsLabClient",
    "ModelsLabError",
    "NotFoundError",
    "PartialToolCall",
    "PermissionDeniedError",
    "RateLimitError",
    "ReasoningDelta",
    "ReasoningStyle",
    "SSEDecoder",
    "Secret",
    "ServerError",
    "ServerSentEvent",
    "SettingsKwargs",
    "StreamAccumulator",
    "StreamDecoder",
    "StreamEvent",
    "StreamStart",
    "StructuredMethod",
    "TextDelta",
    "ThinkSplitter",
    "Timeouts",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallDelta",
    "UnexpectedResponseError",
    "Usage",
    "UsageEvent",
    "__version__",
    "accumulate",
    "build_chat_payload",
    "default_max_tokens",
    "default_of",
    "estimate_prompt_tokens",
    "fallback_methods",
    "fill_max_tokens",
    "forget_host_limits",
    "host_limits",
    "is_format_refusal",
    "json_mode_instruction",
    "limiter_url_has_password",
    "masked_limiter_url",
    "max_tokens_sent",
    "model_info",
    "normalize_tool_call_id",
    "parse_completion",
    "resized_payload",
    "resolve_settings",
    "sampling_defaults",
    "shape_conversation",
    "smaller_max_tokens",
    "tool_choice_for_wire",
    "validate_params",
    "wire_tool_call",
]
