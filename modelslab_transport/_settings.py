"""Client settings: the one carrier of the key, the endpoint, timeouts and limits.

Every default is written once, as a field default of `ClientSettings`; `default_of(name)`
reads it for anyone else (the adapters' fields). Checked once, in `__post_init__`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, runtime_checkable

from ._errors import InvalidInputError, MissingAPIKeyError

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Unpack


# The public names (the package exports them); the rest is imported by name.
__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "LIMITER_URL_ENV",
    "ClientSettings",
    "Secret",
    "Timeouts",
    "__version__",
    "default_of",
]

__version__ = "0.1.0"
USER_AGENT = f"modelslab-integrations/{__version__} (python-httpx)"

API_KEY_ENV = "MODELSLAB_API_KEY"
BASE_URL_ENV = "MODELSLAB_BASE_URL"
LIMITER_URL_ENV = "MODELSLAB_LIMITER_URL"
DEFAULT_BASE_URL = "https://modelslab.com/api/v7/llm"
DEFAULT_MODEL = "mistralai-Magistral-Small-2506"

CHAT_PATH = "/chat/completions"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
MODELS_PATH = "/v1/models"


@runtime_checkable
class SecretLike(Protocol):
    """Anything holding a secret behind `get_secret_value()`, e.g. pydantic's `SecretStr`."""

    def get_secret_value(self) -> Any: ...


class Secret:
    """Holds the API key; shows only asterisks in repr, str and format.

    >>> Secret("sk-123")
    Secret('**********')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The key itself: use it only to build a request."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


_HTTPX_TIMEOUTS: dict[Timeouts, httpx.Timeout] = {}


@dataclass(frozen=True, slots=True)
class Timeouts:
    """httpx's four timeouts, hashable (httpx.Timeout is not); None is no limit."""

    connect: float | None = 5.0
    read: float | None = 600.0
    write: float | None = 60.0
    pool: float | None = 600.0

    def httpx(self) -> httpx.Timeout:
        """The httpx form, built once per distinct value."""
        timeout = _HTTPX_TIMEOUTS.get(self)
        if timeout is None:
            import httpx

            timeout = _HTTPX_TIMEOUTS[self] = httpx.Timeout(
                connect=self.connect, read=self.read, write=self.write, pool=self.pool
            )
        return timeout


class SettingsKwargs(TypedDict, total=False):
    """The keyword form of `ClientSettings` (see `ClientSettings.from_kwargs`)."""

    api_key: str | SecretLike | None
    base_url: str | None
    timeout: float | httpx.Timeout | Timeouts | None
    first_byte_timeout: float | None
    stream_idle_timeout: float | None
    stream_consumer_timeout: float | None
    max_retries: int | None
    max_retry_wait: float | None
    max_concurrent_requests: int | None
    default_headers: Mapping[str, str] | tuple[tuple[str, str], ...] | None
    queue_wait_budget: float | None
    acquire_timeout: float | None
    learn_queue_limit: bool | None


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything a client needs to talk to ModelsLab; frozen and hashable (a cache key).

    >>> ClientSettings.from_kwargs(api_key="sk-x", timeout=30).timeout.read
    30.0
    """

    api_key: Secret = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: Timeouts = Timeouts()
    # ModelsLab serves an account's requests in queue order (5 to 15 queued, by plan), so a
    # stream may wait minutes for its first event while earlier requests finish: as a read.
    first_byte_timeout: float | None = 600.0
    # Once a stream has begun, events (or keep-alive comments) come every few seconds at most.
    stream_idle_timeout: float | None = 120.0
    # A sync generator left suspended (a web framework never closes it when the client leaves)
    # would hold its connection and slot until garbage-collected: after this long without a
    # pull for the next event, the stream is closed, its slot freed, and a pull raises.
    stream_consumer_timeout: float | None = 30.0
    max_retries: int = 2
    max_retry_wait: float = 60.0
    max_concurrent_requests: int | None = 5
    default_headers: tuple[tuple[str, str], ...] = ()
    # A 429 "queue full" was never run: resent, honouring retry_after, for up to this many
    # seconds in all, apart from max_retries.
    queue_wait_budget: float = 300.0
    # Longest wait for an in-flight slot before LimiterTimeoutError; finite, so never a hang.
    acquire_timeout: float = 600.0
    # True when max_concurrent_requests was not given: a 429 stating the plan's queue limit
    # lowers this process's limit for the key to it.
    learn_queue_limit: bool = field(default=True, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.api_key, Secret):
            raise InvalidInputError("ClientSettings.api_key must be a Secret")
        _check_url(self.base_url)
        if not isinstance(self.timeout, Timeouts):
            raise InvalidInputError("ClientSettings.timeout must be a Timeouts")
        for name in ("first_byte_timeout", "stream_idle_timeout", "stream_consumer_timeout"):
            value = getattr(self, name)
            if value is not None:  # stored as float: 1 and 1.0 are one cache key anyway
                object.__setattr__(self, name, _positive(name, value))
        for name in ("max_retry_wait", "queue_wait_budget", "acquire_timeout"):  # 0: never wait
            zero = name != "acquire_timeout"  # a slot's wait must be finite, and more than none
            object.__setattr__(self, name, _positive(name, getattr(self, name), allow_zero=zero))
        _count("max_retries", self.max_retries, low=0)
        if self.max_concurrent_requests is not None:
            _count("max_concurrent_requests", self.max_concurrent_requests, low=1)
        for name, _ in self.default_headers:
            if name.lower() in ("authorization", "x-api-key"):
                raise InvalidInputError("default_headers must not carry credentials; use api_key")

    @classmethod
    def from_kwargs(cls, **kw: Unpack[SettingsKwargs]) -> ClientSettings:
        """The one coercion from keywords: the key and URL from the environment when None, a
        number of seconds as the timeout, any Mapping as headers; None for a field that cannot
        be None (`max_retries`, ...) is its default. An unknown keyword is refused."""
        values: dict[str, Any] = dict(kw)
        unknown = values.keys() - FIELD_NAMES
        if unknown:
            raise InvalidInputError(f"Unknown client settings: {', '.join(sorted(unknown))}")
        values["api_key"] = _api_key(values.get("api_key"))
        values["base_url"] = _base_url(values.get("base_url"))
        values["timeout"] = _timeout(values.get("timeout"))
        if "learn_queue_limit" not in values:
            values["learn_queue_limit"] = "max_concurrent_requests" not in values
        headers = values.get("default_headers")
        if headers is not None:
            values["default_headers"] = _headers(headers)
        optional = ("max_retries", "max_retry_wait", "default_headers", "queue_wait_budget")
        for name in (*optional, "acquire_timeout", "learn_queue_limit"):
            if values.get(name, 0) is None:
                del values[name]
        return cls(**values)

    def replace(self, **changes: Any) -> ClientSettings:
        """A copy with some fields changed (checked again)."""
        return replace(self, **changes)

    def url(self, path: str) -> str:
        """The full URL of an endpoint path such as ``/chat/completions``."""
        return self.base_url + path

    def headers(self, path: str = CHAT_PATH) -> dict[str, str]:
        """Request headers for `path`, Authorization included (never log these); the `/v1/...`
        endpoints (models, messages, count_tokens) declare `x-api-key` auth, so they get it too."""
        key = self.api_key.get_secret_value()
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        headers.update(self.default_headers)
        headers["Authorization"] = f"Bearer {key}"
        if path.startswith("/v1/"):
            headers["x-api-key"] = key
        return headers


FIELD_NAMES = frozenset(f.name for f in fields(ClientSettings))
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(ClientSettings)}


def default_of(name: str) -> Any:
    """The default of one `ClientSettings` field, e.g. ``default_of("max_retries") == 2``."""
    return _DEFAULTS[name]


def _api_key(value: object) -> Secret:
    if value is None:
        value = os.environ.get(API_KEY_ENV)
        if value is None:
            raise MissingAPIKeyError(
                f"No ModelsLab API key: pass api_key=... or set the {API_KEY_ENV} "
                "environment variable (get a key at https://modelslab.com/dashboard/api-keys)"
            )
    if isinstance(value, Secret):
        return value
    if not isinstance(value, (str, SecretLike)):
        raise InvalidInputError(f"api_key must be a string, not {type(value).__name__}")
    secret = value if isinstance(value, str) else value.get_secret_value()
    if not isinstance(secret, str) or not secret.strip():
        raise MissingAPIKeyError(f"The ModelsLab API key is empty: check api_key / {API_KEY_ENV}")
    if secret != secret.strip() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in secret):
        raise InvalidInputError("The ModelsLab API key contains whitespace or control characters")
    return Secret(secret)


def _base_url(value: object) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"base_url must be a string, not {type(value).__name__}")
    return (value or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")


def _check_url(url: str) -> None:
    import httpx  # settings are built per client, not at import

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidInputError(f"base_url {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInputError(
            f"base_url {url!r} needs an http(s) scheme and a host, e.g. {DEFAULT_BASE_URL}"
        )
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise InvalidInputError(
            f"base_url {url!r} uses plain http to a non-loopback host; the API key would travel "
            "unencrypted. Use https (plain http is allowed for 127.0.0.1 / localhost only)."
        )
    if parsed.query or parsed.fragment:
        raise InvalidInputError(f"base_url {url!r} must not carry a query or fragment")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _timeout(value: object) -> Timeouts:
    if value is None:
        return Timeouts()
    if isinstance(value, Timeouts):
        return value
    httpx = sys.modules.get("httpx")  # an httpx.Timeout means httpx is loaded already
    if httpx is not None and isinstance(value, httpx.Timeout):
        return Timeouts(value.connect, value.read, value.write, value.pool)
    seconds = _positive("timeout", value)
    connect = Timeouts().connect or seconds
    return Timeouts(connect=min(seconds, connect), read=seconds, write=seconds, pool=seconds)


def _positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        raise InvalidInputError(f"{name} must be positive, not {value!r}")
    return float(value)


def _count(name: str, value: object, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{name} must be a whole number >= {low}, not {value!r}")
    return value


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    try:
        return tuple(sorted((str(name), str(text)) for name, text in pairs))  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise InvalidInputError("default_headers must be a mapping of names to values") from None
