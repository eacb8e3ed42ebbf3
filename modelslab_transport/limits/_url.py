"""The limiter URL: its check, and the forms a serialized model, a log or a message show.

No Redis import: settings and adapters check and mask the URL without the `redis` extra."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from .._errors import InvalidInputError

__all__ = [
    "MACHINE_LIMITER",
    "MASKED_PASSWORD",
    "PROCESS_LIMITER",
    "check_url",
    "display_url",
    "limiter_url_has_password",
    "masked_limiter_url",
]

# limiter_url values that name a local limiter rather than a Redis URL.
PROCESS_LIMITER = "process"  # this process only
MACHINE_LIMITER = "machine"  # every process of this user on this machine (also the default)
_SCHEMES = ("redis", "rediss", "unix")

# What a serialized model keeps of the limiter URL's password (the `redis` client also takes one
# as `?password=` in the query string).
MASKED_PASSWORD = "**********"


def check_url(url: str | None) -> None:
    """Refuse a `limiter_url` that names no limiter: None, 'machine', 'process' or a Redis URL
    (whose password must not be the mask a serialized model keeps)."""
    if url in (None, PROCESS_LIMITER, MACHINE_LIMITER):
        return
    if not isinstance(url, str) or urlsplit(url).scheme not in _SCHEMES:
        raise InvalidInputError(
            "the limiter URL must be redis://host:port/db, rediss://host:port/db, "
            "unix:///path/to/redis.sock, 'machine' (this machine's processes, the default) "
            "or 'process' (this process only)"
        )
    if MASKED_PASSWORD in _passwords(url):
        raise InvalidInputError(
            "the limiter URL's password was masked when the model was serialized: pass "
            "limiter_url with the real password (or leave it out and set MODELSLAB_LIMITER_URL)"
        )


def _passwords(url: str) -> list[str]:
    parts = urlsplit(url)
    query = [value for name, value in parse_qsl(parts.query) if name == "password"]
    return query if parts.password is None else [parts.password, *query]


def limiter_url_has_password(url: str | None) -> bool:
    """Whether the limiter URL carries a password (in its user part or its query string)."""
    return url is not None and bool(_passwords(url))


def masked_limiter_url(url: str | None) -> str | None:
    """The limiter URL as a serialized model keeps it: every password replaced by
    `MASKED_PASSWORD`, the rest as given (a URL without a password is returned unchanged)."""
    if not limiter_url_has_password(url):
        return url
    assert url is not None
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASKED_PASSWORD}@{host}"
    query = [
        (name, MASKED_PASSWORD if name == "password" else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    tail = f"?{urlencode(query, safe='*')}" if query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{tail}"  # urlunsplit drops unix:///'s "//"


def display_url(url: str) -> str:
    """The URL without its password (or any query string), for messages and logs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or 'localhost'}{port}{parts.path}"
