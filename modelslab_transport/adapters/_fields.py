"""The transport fields both adapters declare, written once with their defaults and bounds.

`ChatModelsLab(BaseChatModel, TransportFields)` and `ModelsLabLLM(FunctionCallingLLM,
TransportFields)` inherit them; each still declares `api_key`, `base_url`, `timeout`,
`default_headers` and its httpx clients itself, in its framework's own way (docs/architecture.md).
Every value is checked again by `ClientSettings` (the limiter URL by `limits.limiter_for`)
when a client is built from the fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_serializer

# The package's public names: they stay put while the modules behind them move.
from .. import LIMITER_URL_ENV, ClientSettings, default_of
from ..limits import check_url, limiter_url_has_password, masked_limiter_url

__all__ = [
    "SETTINGS_FIELDS",
    "TransportFields",
    "cached_settings",
    "private_state",
    "settings_from_fields",
]

# The `ClientSettings` fields an adapter reads from itself per request (`settings_from_fields`);
# whether the limit may be learned follows from whether max_concurrent_requests was set.
SETTINGS_FIELDS = tuple(
    name for name in ClientSettings.__dataclass_fields__ if name != "learn_queue_limit"
)


# Each field's help (its pydantic description), beside the fields that read it.
_HELP = {
    "stream_idle_timeout": "Longest silence between stream events before the stream fails, in "
    "seconds.",
    "first_byte_timeout": "Longest wait for a stream's first event, from sending the request, "
    "response headers included (requests queue per account), in seconds; SSE comments restart "
    "it. Never longer than the read timeout.",
    "stream_consumer_timeout": "Longest wait for the consumer to ask for the next event (a web "
    "endpoint whose client left), in seconds; then the stream is closed, its slot freed, and the "
    "next pull raises APITimeoutError. None: wait for ever.",
    "max_retries": "Retries of 408/409/429/5xx and connection failures (backoff with jitter).",
    "max_retry_wait": "Longest server-requested wait honoured before a RateLimitError is raised "
    "at once.",
    "max_concurrent_requests": "In-flight requests per API key, shared process-wide (sync and "
    "async); None: no limit. Left unset, a 429 stating the plan's queue limit lowers it to that "
    "limit.",
    "limiter_url": "Redis (redis://, rediss://, unix://) holding max_concurrent_requests across "
    "processes and machines; default MODELSLAB_LIMITER_URL, else the in-process limit.",
    "limiter_fallback": "Redis unreachable: fall back to the in-process limit (logged) instead "
    "of raising.",
    "queue_wait_budget": "Seconds in all spent resending 429 'queue full' refusals (never run), "
    "apart from max_retries.",
    "acquire_timeout": "Longest wait for an in-flight slot before LimiterTimeoutError.",
}


def _setting(name: str, **bounds: Any) -> Any:
    """A field whose default is `ClientSettings`' own, so the two cannot drift."""
    return Field(default=default_of(name), description=_HELP[name], **bounds)


class TransportFields(BaseModel):
    """Timeouts, retries and the per-key in-flight limit, as fields of a framework model."""

    stream_idle_timeout: float | None = _setting("stream_idle_timeout", gt=0)
    first_byte_timeout: float | None = _setting("first_byte_timeout", gt=0)
    stream_consumer_timeout: float | None = _setting("stream_consumer_timeout", gt=0)
    max_retries: int = _setting("max_retries", ge=0)
    max_retry_wait: float = _setting("max_retry_wait", ge=0.0)
    max_concurrent_requests: int | None = _setting("max_concurrent_requests", ge=1)
    # The limiter is not a client setting: `ClientCache` passes these to the client it builds.
    limiter_url: str | None = Field(default=None, description=_HELP["limiter_url"], repr=False)
    limiter_fallback: bool = Field(default=False, description=_HELP["limiter_fallback"])
    queue_wait_budget: float = _setting("queue_wait_budget", ge=0.0)
    acquire_timeout: float = _setting("acquire_timeout", gt=0.0)
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


def settings_from_fields(obj: object, **override: Any) -> ClientSettings:
    """The settings an adapter's fields give: its attributes named like `ClientSettings`' fields,
    `override` on top; a 429's queue limit is learned unless `max_concurrent_requests` was
    given. The limiter URL (not a setting) is checked too: the adapters' one check."""
    check_url(getattr(obj, "limiter_url", None))
    values = {name: getattr(obj, name) for name in SETTINGS_FIELDS if hasattr(obj, name)}
    explicit = getattr(obj, "model_fields_set", None)  # pydantic: the fields given
    if isinstance(explicit, (set, frozenset)) and "learn_queue_limit" not in override:
        values["learn_queue_limit"] = "max_concurrent_requests" not in explicit
    values.update(override)
    return ClientSettings.from_kwargs(**values)


def cached_settings(
    model: object, memo_holder: dict[str, Any], values: tuple[Any, ...], **override: Any
) -> ClientSettings:
    """`settings_from_fields(model, **override)`, rebuilt only when `values` (a tuple of the
    fields it reads, always in the same order) changed since the last call; the memo is kept under
    `"_memo"` in `memo_holder` (the model's private state). Building and checking the settings
    costs ~50 us and every request asks for them; a changed field (`llm.max_retries = 0`) is
    used by the next call. Dicts are copied into the memo: a header dict changed in place must
    not compare equal to it."""
    memo: tuple[tuple[Any, ...], ClientSettings] | None = memo_holder["_memo"]
    if memo is None or memo[0] != values:
        snapshot = tuple(dict(v) if isinstance(v, dict) else v for v in values)
        memo = memo_holder["_memo"] = (snapshot, settings_from_fields(model, **override))
    return memo[1]


def private_state(model: BaseModel) -> dict[str, Any]:
    """A pydantic model's private attributes as their dict: pydantic reads one through
    `__getattr__` (~1.5 us), and every request reads them."""
    private = model.__pydantic_private__
    assert private is not None  # a model with private attributes always has the dict
    return private
