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
from ._settings import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    LIMITER_URL_ENV,
    ClientSettings,
    Secret,
    Timeouts,
    __version__,
    default_of,
)
from ._sse import ServerSentEvent, SSEDecoder
from ._tool_calls import (
    normalize_tool_call_id,
    tool_choice_for_wire,
    wire_tool_call,
)

if TYPE_CHECKING:
    from ._async_client import AsyncModelsLabClient
    from ._client import ModelsLabClient
    from ._client_cache import ClientCache

# Loaded on first use, for a faster `import`: the clients bring httpx (and the async one
# asyncio). Below them, names kept importable from here for code written before they moved
# out of `__all__`: their homes are `modelslab_transport.models` (model knowledge),
# `modelslab_transport.limits` (per-key limits) and the core modules.
_LAZY = {
    "AsyncModelsLabClient": "._async_client",
    "ClientCache": "._client_cache",
    "ModelsLabClient": "._client",
    "limiter_url_has_password": ".limits._url",
    "masked_limiter_url": ".limits._url",
    "BRIDGE_TEXT": ".models",
    "ConversationRules": ".models",
    "FALLBACK_ORDER": ".models",
    "HostLimits": ".models",
    "MAX_TOKENS_FLOOR": ".models",
    "MODELS": ".models",
    "ModelInfo": ".models",
    "PROMPT_MARGIN": ".models",
    "REASONING_MAX_TOKENS_FLOOR": ".models",
    "ReasoningStyle": ".models",
    "StructuredMethod": ".models",
    "UNKNOWN_MODEL_MAX_TOKENS": ".models",
    "default_max_tokens": ".models",
    "estimate_prompt_tokens": ".models",
    "fallback_methods": ".models",
    "fill_max_tokens": ".models",
    "forget_host_limits": ".models",
    "host_limits": ".models",
    "is_format_refusal": ".models",
    "json_mode_instruction": ".models",
    "model_info": ".models",
    "resized_payload": ".models",
    "sampling_defaults": ".models",
    "shape_conversation": ".models",
    "smaller_max_tokens": ".models",
    "validate_params": ".models",
    "StreamAccumulator": "._events",
    "ThinkSplitter": "._reasoning",
    "SettingsKwargs": "._settings",
    "resolve_settings": "._settings",
    "ToolCallAssembler": "._tool_calls",
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
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "LIMITER_URL_ENV",
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
    "EventLoopBlockedError",
    "FinishEvent",
    "IncompleteStreamError",
    "InsufficientCreditsError",
    "InvalidConversationError",
    "InvalidInputError",
    "LimiterError",
    "LimiterTimeoutError",
    "LimiterUnavailableError",
    "MissingAPIKeyError",
    "ModelsLabClient",
    "ModelsLabError",
    "NotFoundError",
    "PartialToolCall",
    "PermissionDeniedError",
    "RateLimitError",
    "ReasoningDelta",
    "SSEDecoder",
    "Secret",
    "ServerError",
    "ServerSentEvent",
    "StreamDecoder",
    "StreamEvent",
    "StreamStart",
    "TextDelta",
    "Timeouts",
    "ToolCall",
    "ToolCallDelta",
    "UnexpectedResponseError",
    "Usage",
    "UsageEvent",
    "__version__",
    "accumulate",
    "build_chat_payload",
    "default_of",
    "max_tokens_sent",
    "normalize_tool_call_id",
    "parse_completion",
    "tool_choice_for_wire",
    "wire_tool_call",
]
