"""Transport errors re-raised as classes that are also langchain-core's standard errors.

Each class inherits the `modelslab_transport` error *and* its langchain-core counterpart, so
`except modelslab_transport.RateLimitError` and `except ModelRateLimitError` both work, and
LangChain's own retry and fallback logic reads the right `is_retryable`.
"""

from __future__ import annotations

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

import modelslab_transport as mt

# The error classes are exported by the package (`langchain_modelslab.__all__`).
__all__ = ["langchain_errors", "to_langchain_error"]

# The transport error comes first among the bases, so its `is_retryable` (decided by the
# transport, which has already retried what it safely could) is the one LangChain reads.


class ModelsLabInvalidInputError(mt.InvalidInputError, ModelInvalidRequestError):
    """Input refused on this side before any request was sent (also a ValueError)."""


class ModelsLabInvalidConversationError(mt.InvalidConversationError, ModelsLabInvalidInputError):
    """A conversation the model's host refuses (it ends on an assistant message), caught before
    any request was sent."""


class ModelsLabMissingAPIKeyError(mt.MissingAPIKeyError, ModelAuthenticationError):
    """No API key was given and MODELSLAB_API_KEY is not set."""


class ModelsLabAPIError(mt.APIStatusError, ModelAPIError):
    """ModelsLab answered with an error that has no more specific class."""


class ModelsLabBadRequestError(mt.BadRequestError, ModelInvalidRequestError):
    """ModelsLab refused the request as invalid (HTTP 400 / 422)."""


class ModelsLabContextOverflowError(
    mt.ContextLengthExceededError, ModelsLabBadRequestError, ContextOverflowError
):
    """The prompt (plus max_tokens) does not fit the model's context window."""


class ModelsLabAuthenticationError(mt.AuthenticationError, ModelAuthenticationError):
    """The API key is missing, wrong or revoked (HTTP 401)."""


class ModelsLabInsufficientCreditsError(mt.InsufficientCreditsError, ModelPermissionDeniedError):
    """The account is out of credits (HTTP 402): a permission problem until topped up."""


class ModelsLabPermissionDeniedError(mt.PermissionDeniedError, ModelPermissionDeniedError):
    """The key may not use this model or endpoint (HTTP 403)."""


class ModelsLabNotFoundError(mt.NotFoundError, ModelNotFoundError):
    """Unknown model or endpoint (HTTP 404 or ModelsLab's `Model not found`)."""


class ModelsLabRateLimitError(mt.RateLimitError, ModelRateLimitError):
    """Too many queued requests (HTTP 429); `retry_after` is the server's hint in seconds."""


class ModelsLabServerError(mt.ServerError, ModelAPIError):
    """ModelsLab or its upstream provider failed (HTTP 5xx, or an error sent with HTTP 200)."""


class ModelsLabBadGatewayError(mt.BadGatewayError, ModelsLabServerError):
    """HTTP 200 with a body that is not JSON: retried like a 502, raised once retries run out."""


class ModelsLabAPIConnectionError(mt.APIConnectionError, ModelConnectionError):
    """ModelsLab could not be reached, or the connection broke."""


class ModelsLabAPITimeoutError(mt.APITimeoutError, ModelsLabAPIConnectionError, ModelTimeoutError):
    """A connect, read or stream-idle timeout expired."""


class ModelsLabIncompleteStreamError(mt.IncompleteStreamError, ModelAPIError):
    """A stream ended before the answer was complete; partial output is never returned."""


class ModelsLabUnexpectedResponseError(mt.UnexpectedResponseError, ModelAPIError):
    """A reply that is neither JSON nor an event stream (an HTML proxy page, a redirect)."""


# Limiter errors: nothing was sent. Each takes the langchain-core class that says what to do.


class ModelsLabLimiterError(mt.LimiterError, ModelError):
    """No in-flight slot could be had for the request (nothing was sent)."""


class ModelsLabLimiterTimeoutError(
    mt.LimiterTimeoutError, ModelsLabLimiterError, ModelTimeoutError
):
    """Every slot of the key stayed busy for `acquire_timeout` (nothing was sent)."""


class ModelsLabLimiterUnavailableError(
    mt.LimiterUnavailableError, ModelsLabLimiterError, ModelConnectionError
):
    """The shared limiter's store (Redis) could not be reached (nothing was sent)."""


class ModelsLabEventLoopBlockedError(
    mt.EventLoopBlockedError, ModelsLabLimiterError, ModelInvalidRequestError
):
    """A sync call on an event loop's thread whose async calls hold every slot: a usage error
    (await the async method instead), so an invalid request rather than a retryable one."""


# Most specific first: the first transport class an error is an instance of decides.
_MAPPING: tuple[tuple[type[mt.ModelsLabError], type[mt.ModelsLabError]], ...] = (
    (mt.MissingAPIKeyError, ModelsLabMissingAPIKeyError),
    (mt.InvalidConversationError, ModelsLabInvalidConversationError),
    (mt.InvalidInputError, ModelsLabInvalidInputError),
    (mt.ContextLengthExceededError, ModelsLabContextOverflowError),
    (mt.BadRequestError, ModelsLabBadRequestError),
    (mt.AuthenticationError, ModelsLabAuthenticationError),
    (mt.InsufficientCreditsError, ModelsLabInsufficientCreditsError),
    (mt.PermissionDeniedError, ModelsLabPermissionDeniedError),
    (mt.NotFoundError, ModelsLabNotFoundError),
    (mt.RateLimitError, ModelsLabRateLimitError),
    (mt.BadGatewayError, ModelsLabBadGatewayError),
    (mt.ServerError, ModelsLabServerError),
    (mt.APIStatusError, ModelsLabAPIError),
    (mt.APITimeoutError, ModelsLabAPITimeoutError),
    (mt.APIConnectionError, ModelsLabAPIConnectionError),
    (mt.IncompleteStreamError, ModelsLabIncompleteStreamError),
    (mt.UnexpectedResponseError, ModelsLabUnexpectedResponseError),
    (mt.LimiterTimeoutError, ModelsLabLimiterTimeoutError),
    (mt.LimiterUnavailableError, ModelsLabLimiterUnavailableError),
    (mt.EventLoopBlockedError, ModelsLabEventLoopBlockedError),
    (mt.LimiterError, ModelsLabLimiterError),
)


def to_langchain_error(error: mt.ModelsLabError) -> mt.ModelsLabError:
    """The same error (message, status, body, extra attributes) as its dual-inheritance class.

    Errors that already are langchain-core errors, or that have no counterpart, come back as is.
    """
    if isinstance(error, ModelError):
        return error
    for transport_cls, langchain_cls in _MAPPING:
        if isinstance(error, transport_cls):
            return error.rebuilt_as(langchain_cls)  # the transport's own rebuild (as pickle)
    return error


class _LangChainErrors:
    """The block's transport errors re-raised as their dual-inheritance classes: a plain
    class, as cheap as a context manager gets (every request enters one)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, mt.ModelsLabError):
            raise to_langchain_error(error) from None


_LANGCHAIN_ERRORS = _LangChainErrors()


def langchain_errors() -> _LangChainErrors:
    """Re-raise transport errors in the block as their dual-inheritance classes."""
    return _LANGCHAIN_ERRORS
