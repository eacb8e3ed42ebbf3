"""How the hosts behind ModelsLab word their errors when no HTTP status says what failed: the
OpenAI-style and vLLM `type` names, and the message phrases of a context overflow, a bad key, no
credits, a rate limit or an unknown model. `_failures` types an error body with these."""

from __future__ import annotations

__all__ = ["CONTEXT_PHRASES", "STATUS_BY_TYPE", "status_by_wording"]

# OpenAI-style `type` values, used when there is neither an error status nor a numeric code.
STATUS_BY_TYPE: dict[str, int] = {
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "permission_denied": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "invalid_request_error": 400,
    "insufficient_quota": 402,
    "insufficient_credits": 402,
    # vLLM names its error objects after exception classes (`{"object": "error", "type": ...}`).
    "badrequesterror": 400,
    "notfounderror": 404,
    "internalservererror": 500,
    "serviceunavailableerror": 503,
}
# A prompt (plus max_tokens) too long for the context: OpenAI's, vLLM's and gateways' wordings.
CONTEXT_PHRASES = (
    "context length",
    "context_length",
    "context window",
    "context size",
    "too many tokens",
    "prompt is too long",
    "input is too long",
    "too long for the model",
    "maximum context",
    "exceeds the context",
    "maximum number of tokens",
    "reduce the length of the messages",
)
# (status, one of these phrases, and one of these too when given): the first match wins.
_WORDINGS: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        401,
        ("api key", "api_key", "apikey"),
        ("invalid", "incorrect", "wrong", "missing", "expired", "revoked", "not valid"),
    ),
    (401, ("unauthorized", "unauthorised", "unauthenticated"), ()),
    (
        402,
        ("insufficient", "out of credit", "not enough credit"),
        ("credit", "balance", "fund", "quota"),
    ),
    (429, ("rate limit", "rate-limit", "ratelimit", "too many requests"), ()),
    (404, ("not found", "does not exist", "unknown model", "no such model"), ()),
)


def status_by_wording(lowered: str) -> int:
    """The HTTP status a lowercased error message without one stands for; 500 when unknown."""
    for status, phrases, also in _WORDINGS:
        if any(p in lowered for p in phrases) and (not also or any(a in lowered for a in also)):
            return status
    return 500
