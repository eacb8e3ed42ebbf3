"""The transport fields both adapters declare, written once with their defaults and bounds.

`ChatModelsLab(BaseChatModel, TransportFields)` and `ModelsLabLLM(FunctionCallingLLM,
TransportFields)` inherit them; each still declares `api_key`, `base_url`, `timeout`,
`default_headers` and its httpx clients itself, in its framework's own way (docs/architecture.md).
Every value is checked again by `ClientSettings` when a client is built from the fields.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_serializer

# The package's public names: they stay put while the modules behind them move.
from .. import (
    LIMITER_URL_ENV,
    ClientSettings,
    default_of,
    limiter_url_has_password,
    masked_limiter_url,
)

__all__ = ["SETTINGS_FIELDS", "TransportFields"]

# The `ClientSettings` fields an adapter reads from itself per request (`from_fields`); whether
# the limit may be learned follows from whether max_concurrent_requests was set.
SETTINGS_FIELDS = tuple(
    name for name in ClientSettings.__dataclass_fields__ if name != "learn_queue_limit"
)


class TransportFields(BaseModel):
    """Timeouts, retries and the per-key in-flight limit, as fields of a framework model."""

    stream_idle_timeout: float | None = Field(
        default=default_of("stream_idle_timeout"),
        gt=0,
        description="Longest silence between stream events before the stream fails, in seconds.",
    )
    first_byte_timeout: float | None = Field(
        default=default_of("first_byte_timeout"),
        gt=0,
        description="Longest wait for a stream's first event, from sending the request, "
        "response headers included (requests queue per account), in seconds; SSE comments "
        "restart it. Never longer than the read timeout.",
    )
    stream_consumer_timeout: float | None = Field(
        default=default_of("stream_consumer_timeout"),
        gt=0,
        description="Longest wait for the consumer to ask for the next event (a web endpoint "
        "whose client left), in seconds; then the stream is closed, its slot freed, and the "
        "next pull raises APITimeoutError. None: wait for ever.",
    )
    max_retries: int = Field(
        default=default_of("max_retries"),
        ge=0,
        description="Retries of 408/409/429/5xx and connection failures (backoff with jitter).",
    )
    max_retry_wait: float = Field(
        default=default_of("max_retry_wait"),
        ge=0.0,
        description="Longest server-requested wait honoured before a RateLimitError is raised "
        "at once.",
    )
    max_concurrent_requests: int | None = Field(
        default=default_of("max_concurrent_requests"),
        ge=1,
        description="In-flight requests per API key, shared process-wide (sync and async); "
        "None: no limit. Left unset, a 429 stating the plan's queue limit lowers it to that "
        "limit.",
    )
    limiter_url: str | None = Field(
        default=default_of("limiter_url"),
        repr=False,
        description="Redis (redis://, rediss://, unix://) holding max_concurrent_requests "
        "across processes and machines; default MODELSLAB_LIMITER_URL, else the in-process "
        "limit.",
    )
    limiter_fallback: bool = Field(
        default=default_of("limiter_fallback"),
        description="Redis unreachable: fall back to the in-process limit (logged) instead of "
        "raising.",
    )
    queue_wait_budget: float = Field(
        default=default_of("queue_wait_budget"),
        ge=0.0,
        description="Seconds in all spent resending 429 'queue full' refusals (never run), "
        "apart from max_retries.",
    )
    acquire_timeout: float = Field(
        default=default_of("acquire_timeout"),
        gt=0.0,
        description="Longest wait for an in-flight slot before LimiterTimeoutError.",
    )
    reasoning_in_history: bool = Field(
        default=False,
        description="Send earlier turns' reasoning back to the model (inline <think>); off, as "
        "the model card recommends.",
    )

    @field_serializer("limiter_url")
    def _limiter_url_without_password(self, url: str | None) -> str | None:
        """model_dump / to_json: the Redis password masked (the rest kept); a model rebuilt
        from it is refused until it gets the real URL, as the key is not kept either."""
        return masked_limiter_url(url)

    def secret_fields(self) -> dict[str, str]:
        """Transport fields that are secrets now, each with the environment variable that
        holds it (LangChain's `lc_secrets`): a limiter URL with a Redis password."""
        if limiter_url_has_password(self.limiter_url):
            return {"limiter_url": LIMITER_URL_ENV}
        return {}
