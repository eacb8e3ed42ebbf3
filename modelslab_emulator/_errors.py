"""API errors and their three wire shapes (ModelsLab, OpenAI, legacy ``messege``)."""

from __future__ import annotations

from typing import Any

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """An error reply: HTTP status, message, optional ``retry_after`` and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.headers = headers or {}
        #: A body sent as is, whatever the scenario's error shape (an upstream's own format).
        self.body = body


def vllm_context_error(context: int, prompt: int, completion: int) -> ApiError:
    """vLLM's refusal of a request whose prompt plus ``max_tokens`` exceeds the served context."""
    message = (
        f"This model's maximum context length is {context} tokens. However, you requested "
        f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the "
        "completion). Please reduce the length of the messages or completion."
    )
    body = {
        "object": "error",
        "message": message,
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    return ApiError(400, message, body=body)


def error_body(
    message: str, *, status: int, shape: str = "modelslab", retry_after: float | None = None
) -> dict[str, Any]:
    """The JSON body of an error in ``shape``: ``modelslab`` | ``openai`` | ``legacy``."""
    body: dict[str, Any]
    if shape == "openai":
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "api_error")
        body = {"error": {"message": message, "type": kind, "code": str(status)}}
    elif shape == "legacy":
        body = {"status": "error", "messege": message}
    else:
        body = {"status": "error", "message": message}
    if retry_after is not None:
        body["retry_after"] = _number(retry_after)
    return body


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value
