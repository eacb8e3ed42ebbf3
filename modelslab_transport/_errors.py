"""The typed error hierarchy (every failure a caller can see is one of these), whether each is
worth retrying (the one retry policy's verdict), and the scrubber that keeps the API key out of
every message."""

from __future__ import annotations

import re
from typing import Any, TypeVar

# The public names (the package exports them); helpers are imported by name.
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
    "InvalidConversationError",
    "InvalidInputError",
    "MissingAPIKeyError",
    "ModelsLabError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
]

# Statuses retried besides every 5xx: timeout, conflict (a lock held elsewhere), rate limit.
RETRY_STATUSES = frozenset({408, 409, 429})


def retryable_status(status: int, should_retry: bool | None = None) -> bool:
    """The policy for an HTTP status: the server's `x-should-retry` first, then the status."""
    if should_retry is not None:
        return should_retry
    return status in RETRY_STATUSES or status >= 500


_E = TypeVar("_E", bound="ModelsLabError")


class ModelsLabError(Exception):
    """Base of every error this package raises.

    `message` is ModelsLab's own text (or ours, for client-side failures), already scrubbed of
    the API key; `status_code` is the HTTP status when one was received.

    An error raised in the middle of a stream (an error event, `finish_reason: "error"`, a cut
    connection) also carries what had arrived before it: `partial_text` (the answer so far) and
    `partial_reasoning`, for the first choice. They are never returned as an answer; they are
    there to log, show or resume from. Errors raised before any output leave them empty.
    """

    partial_text: str = ""
    partial_reasoning: str = ""
    retry_after: float | None = None
    """Seconds the server asked to wait before a retry (Retry-After and friends), if it did."""
    should_retry: bool | None = None
    """The server's `x-should-retry` header, which overrules the status code's verdict."""

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

    @property
    def is_retryable(self) -> bool:
        """Whether this failure is worth sending again: the verdict the clients' retry policy
        (`retry_delay`) acts on, before counting attempts. Settable, for an error built by hand."""
        verdict: bool | None = self.__dict__.get("_retryable")
        return self._policy() if verdict is None else verdict

    @is_retryable.setter
    def is_retryable(self, value: bool) -> None:
        self.__dict__["_retryable"] = value

    def _policy(self) -> bool:
        status = self.status_code
        return status is not None and retryable_status(status, self.should_retry)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))

    def rebuilt_as(self, cls: type[_E]) -> _E:
        """This error as an instance of `cls` (a subclass, e.g. a framework's twin of this
        class), with the same state and traceback: what an adapter raises in its framework's
        terms without losing `status_code`, `retry_after`, the partial output or the chain.

        >>> error = RateLimitError("slow down", status_code=429)
        >>> class FrameworkRateLimit(RateLimitError): ...
        >>> again = error.rebuilt_as(FrameworkRateLimit)
        >>> type(again).__name__, again.status_code, again.message
        ('FrameworkRateLimit', 429, 'slow down')
        """
        rebuilt = _rebuild(cls, self.message, self.__dict__.copy())
        rebuilt.__traceback__ = self.__traceback__
        return rebuilt


def _rebuild(cls: type[_E], message: str, state: dict[str, Any]) -> _E:
    # Pickling support: exceptions with keyword-only arguments do not unpickle by default.
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    err.args = (err._one_line(),)
    return err


class InvalidInputError(ModelsLabError, ValueError):
    """Bad input refused on this side, before any request was sent."""


class InvalidConversationError(InvalidInputError):
    """A conversation the model's host refuses before generating (Mistral's tokenizer rules),
    caught before any request was sent."""


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

    @property
    def queue_limit(self) -> int | None:
        """The plan's queue limit N when ModelsLab said "Maximum N queued requests allowed"."""
        match = _QUEUE_LIMIT.search(str(self))
        return int(match.group(1)) if match else None

    @property
    def queue_full(self) -> bool:
        """The account's queue was full, so the request was never run: ModelsLab's message
        says so, or its body carries `retry_after` (its queue-limit answer)."""
        if self.queue_limit is not None:
            return True
        body = self.body
        return isinstance(body, dict) and body.get("retry_after") is not None

    def _policy(self) -> bool:
        # Retried after its hint even when a gateway wrapped it in HTTP 200 or a stream event.
        status = self.status_code
        return status is None or status < 400 or retryable_status(status, self.should_retry)


class ServerError(APIStatusError):
    """ModelsLab or its upstream provider failed (HTTP 5xx, or an error sent with HTTP 200)."""


class BadGatewayError(ServerError):
    """A gateway answered HTTP 2xx with a body that is not a response at all (not JSON, or
    empty): retried like a 502, and raised as this ServerError when the retries run out."""

    def _policy(self) -> bool:
        return True


class APIConnectionError(ModelsLabError):
    """The request could not reach ModelsLab, or the connection broke."""

    resend_safe: bool = True
    """False once the request may have reached the server (a read timeout): sending it again
    could run (and bill) it twice."""

    def _policy(self) -> bool:
        return self.resend_safe


class APITimeoutError(APIConnectionError):
    """A connect, read or stream-idle timeout expired."""


class IncompleteStreamError(ModelsLabError):
    """A stream ended before the answer was complete: partial output is not an answer."""


class UnexpectedResponseError(ModelsLabError):
    """A response that is neither the JSON nor the event stream the API speaks (an HTML page,
    a queued-job reply, a redirect)."""


_QUEUE_LIMIT = re.compile(r"maximum\s+(\d+)\s+queued\s+requests?", re.IGNORECASE)


REDACTED = "[REDACTED]"


def scrub(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by "[REDACTED]"."""
    return text.replace(secret, REDACTED) if secret and secret in text else text
