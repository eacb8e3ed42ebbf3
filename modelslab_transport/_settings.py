"""Client settings: the key, the endpoint, timeouts and limits, resolved once and checked."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from ._errors import InvalidInputError, MissingAPIKeyError
from ._secret import Secret, SecretLike
from ._version import __version__

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_FIRST_BYTE_TIMEOUT",
    "DEFAULT_MODEL",
    "DEFAULT_STREAM_IDLE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "ClientSettings",
    "resolve_settings",
]

API_KEY_ENV = "MODELSLAB_API_KEY"
BASE_URL_ENV = "MODELSLAB_BASE_URL"
DEFAULT_BASE_URL = "https://modelslab.com/api/v7/llm"
DEFAULT_MODEL = "mistralai-Magistral-Small-2506"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=60.0, pool=600.0)
# ModelsLab serves an account's requests in queue order (5 to 15 queued, by plan), so a stream
# may wait minutes for its first event while earlier requests finish: as long as a read.
DEFAULT_FIRST_BYTE_TIMEOUT = 600.0
# Once a stream has begun, events (or keep-alive comments) come every few seconds at most.
DEFAULT_STREAM_IDLE_TIMEOUT = 120.0
USER_AGENT = f"modelslab-integrations/{__version__} (python-httpx)"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything a client needs to talk to ModelsLab; the key stays a `Secret`."""

    api_key: Secret = field(repr=False)
    base_url: str
    timeout: httpx.Timeout
    stream_idle_timeout: float | None
    max_retries: int
    max_concurrent_requests: int | None
    max_retry_wait: float
    default_headers: Mapping[str, str] = field(default_factory=dict)
    first_byte_timeout: float | None = DEFAULT_FIRST_BYTE_TIMEOUT

    def url(self, path: str) -> str:
        """The full URL of an endpoint path such as ``/chat/completions``."""
        return self.base_url + path

    def headers(self) -> dict[str, str]:
        """Request headers, Authorization included (never log these)."""
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        headers.update(self.default_headers)
        headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return headers


def resolve_settings(
    *,
    api_key: str | SecretLike | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = None,
    stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT,
    max_retries: int = 2,
    max_concurrent_requests: int | None = 5,
    max_retry_wait: float = 60.0,
    default_headers: Mapping[str, str] | None = None,
    first_byte_timeout: float | None = DEFAULT_FIRST_BYTE_TIMEOUT,
) -> ClientSettings:
    """Fill in defaults from the environment and refuse invalid values with a clear message."""
    return ClientSettings(
        api_key=_api_key(api_key),
        base_url=_base_url(base_url),
        timeout=_timeout(timeout),
        stream_idle_timeout=_positive_or_none("stream_idle_timeout", stream_idle_timeout),
        first_byte_timeout=_positive_or_none("first_byte_timeout", first_byte_timeout),
        max_retries=_count("max_retries", max_retries, low=0),
        max_concurrent_requests=(
            None
            if max_concurrent_requests is None
            else _count("max_concurrent_requests", max_concurrent_requests, low=1)
        ),
        max_retry_wait=_positive("max_retry_wait", max_retry_wait, allow_zero=True),
        default_headers=_headers(default_headers),
    )


def _api_key(value: str | SecretLike | None) -> Secret:
    if value is None:
        value = os.environ.get(API_KEY_ENV)
        if value is None:
            raise MissingAPIKeyError(
                f"No ModelsLab API key: pass api_key=... or set the {API_KEY_ENV} "
                "environment variable (get a key at https://modelslab.com/dashboard/api-keys)"
            )
    if not isinstance(value, (str, SecretLike)):
        raise InvalidInputError(f"api_key must be a string, not {type(value).__name__}")
    secret = value if isinstance(value, str) else value.get_secret_value()
    if not isinstance(secret, str) or not secret.strip():
        raise MissingAPIKeyError(f"The ModelsLab API key is empty: check api_key / {API_KEY_ENV}")
    if secret != secret.strip() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in secret):
        raise InvalidInputError("The ModelsLab API key contains whitespace or control characters")
    return Secret(secret)


def _base_url(value: str | None) -> str:
    url = (value or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
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
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    seconds = _positive("timeout", value)
    return httpx.Timeout(
        connect=min(seconds, DEFAULT_TIMEOUT.connect or seconds),
        read=seconds,
        write=seconds,
        pool=seconds,
    )


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        raise InvalidInputError(f"{name} must be positive, not {value!r}")
    return float(value)


def _positive_or_none(name: str, value: float | None) -> float | None:
    return None if value is None else _positive(name, value)


def _count(name: str, value: int, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{name} must be a whole number >= {low}, not {value!r}")
    return value


def _headers(value: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(value or {})
    for name in headers:
        if name.lower() in ("authorization", "x-api-key"):
            raise InvalidInputError("default_headers must not carry credentials; use api_key")
    return headers
