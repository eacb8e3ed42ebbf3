"""The typed error hierarchy: every failure a caller can see is one of these."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ContextLengthExceededError",
    "IncompleteStreamError",
    "InsufficientCreditsError",
    "InvalidInputError",
    "MissingAPIKeyError",
    "ModelsLabError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
]


class ModelsLabError(Exception):
    """Base of every error this package raises.

    `message` is ModelsLab's own text (or ours, for client-side failures), already scrubbed of
    the API key; `status_code` is the HTTP status when one was received.

    An error raised in the middle of a stream (an error event, `finish_reason: "error"`, a cut
    connection) also carries what had arrived before it: `partial_text` (the answer so far) and
    `partial_reasoning`, for the first choice. They are never returned as an answer; they are
    there to log, show or resume from. Errors raised before any output leave them empty.
    """

    is_retryable: ClassVar[bool] = False
    partial_text: str = ""
    partial_reasoning: str = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        text = " ".join(self.message.split()) or "(no message)"
        return text if self.status_code is None else f"{text} (HTTP {self.status_code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._one_line()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[ModelsLabError], message: str, state: dict[str, Any]) -> ModelsLabError:
    # Pickling support: exceptions with keyword-only arguments do not unpickle by default.
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    err.args = (err._one_line(),)
    return err


class InvalidInputError(ModelsLabError, ValueError):
    """Bad input refused on this side, before any request was sent."""


class MissingAPIKeyError(InvalidInputError):
    """No API key was given and MODELSLAB_API_KEY is not set."""


class APIStatusError(ModelsLabError):
    """ModelsLab answered with an error (any HTTP status, 200 included)."""


class BadRequestError(APIStatusError):
    """The request was refused as malformed or invalid (HTTP 400 or 422)."""


class ContextLengthExceededError(BadRequestError):
    """The prompt (plus max_tokens) does not fit the model's context window."""


class AuthenticationError(APIStatusError):
    """The API key is missing, wrong or revoked (HTTP 401)."""


class InsufficientCreditsError(APIStatusError):
    """The account has run out of credits (HTTP 402)."""


class PermissionDeniedError(APIStatusError):
    """The key may not use this model or endpoint (HTTP 403)."""


class NotFoundError(APIStatusError):
    """Unknown model or endpoint (HTTP 404, or ModelsLab's `Model not found`)."""


class RateLimitError(APIStatusError):
    """Too many queued requests (HTTP 429); `retry_after` is the server's hint in seconds."""

    is_retryable = True

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = 429,
        body: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, body=body, request_id=request_id)


class ServerError(APIStatusError):
    """ModelsLab or its upstream provider failed (HTTP 5xx, or an error sent with HTTP 200)."""

    is_retryable = True


class BadGatewayError(ServerError):
    """A gateway answered HTTP 2xx with a body that is not a response at all (not JSON, or
    empty): retried like a 502, and raised as this ServerError when the retries run out."""


class APIConnectionError(ModelsLabError):
    """The request could not reach ModelsLab, or the connection broke."""

    is_retryable = True


class APITimeoutError(APIConnectionError):
    """A connect, read or stream-idle timeout expired."""


class IncompleteStreamError(ModelsLabError):
    """A stream ended before the answer was complete: partial output is not an answer."""

    is_retryable = True


class UnexpectedResponseError(ModelsLabError):
    """A response that is neither the JSON nor the event stream the API speaks (an HTML page,
    a queued-job reply, a redirect)."""
