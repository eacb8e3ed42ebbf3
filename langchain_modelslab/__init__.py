"""LangChain integration for ModelsLab's LLM API: `ChatModelsLab`.

>>> from langchain_modelslab import ChatModelsLab
>>> llm = ChatModelsLab(model="mistralai-Magistral-Small-2506")  # doctest: +SKIP
>>> llm.invoke("Hello").content  # doctest: +SKIP
"""

from __future__ import annotations

# langchain-core's chat model first, in its own order: loaded after our modules (pydantic models
# among them) the very same modules took ~80 ms more (langsmith's, by -X importtime).
try:
    import langchain_core.language_models.chat_models  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "langchain_modelslab needs langchain-core, which is not installed. Install it with: "
        'pip install "modelslab-integrations[langchain]"'
    ) from exc

from ._errors import (
    ModelsLabAPIConnectionError,
    ModelsLabAPIError,
    ModelsLabAPITimeoutError,
    ModelsLabAuthenticationError,
    ModelsLabBadGatewayError,
    ModelsLabBadRequestError,
    ModelsLabContextOverflowError,
    ModelsLabEventLoopBlockedError,
    ModelsLabIncompleteStreamError,
    ModelsLabInsufficientCreditsError,
    ModelsLabInvalidConversationError,
    ModelsLabInvalidInputError,
    ModelsLabLimiterError,
    ModelsLabLimiterTimeoutError,
    ModelsLabLimiterUnavailableError,
    ModelsLabMissingAPIKeyError,
    ModelsLabNotFoundError,
    ModelsLabPermissionDeniedError,
    ModelsLabRateLimitError,
    ModelsLabServerError,
    ModelsLabUnexpectedResponseError,
)
from .chat_models import ChatModelsLab

__all__ = [
    "ChatModelsLab",
    "ModelsLabAPIConnectionError",
    "ModelsLabAPIError",
    "ModelsLabAPITimeoutError",
    "ModelsLabAuthenticationError",
    "ModelsLabBadGatewayError",
    "ModelsLabBadRequestError",
    "ModelsLabContextOverflowError",
    "ModelsLabEventLoopBlockedError",
    "ModelsLabIncompleteStreamError",
    "ModelsLabInsufficientCreditsError",
    "ModelsLabInvalidConversationError",
    "ModelsLabInvalidInputError",
    "ModelsLabLimiterError",
    "ModelsLabLimiterTimeoutError",
    "ModelsLabLimiterUnavailableError",
    "ModelsLabMissingAPIKeyError",
    "ModelsLabNotFoundError",
    "ModelsLabPermissionDeniedError",
    "ModelsLabRateLimitError",
    "ModelsLabServerError",
    "ModelsLabUnexpectedResponseError",
]
