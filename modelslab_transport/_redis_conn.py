"""Connections to the shared limiter's Redis: the scripts bound to each, bounded failures.

One sync client (thread-safe, its own pool) and one asyncio client per event loop, since an
asyncio connection belongs to the loop that opened it. Redis is imported here, on first use.
"""

from __future__ import annotations

import importlib.util
import threading
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import InvalidInputError
from ._redis_scripts import ACQUIRE, COUNT, RELEASE, RENEW

if TYPE_CHECKING:
    import asyncio

__all__ = ["RedisConn", "RedisLink", "check_url", "display_url", "redis_errors"]

_SCHEMES = ("redis", "rediss", "unix")


class RedisConn:
    """A Redis client (sync, or asyncio for one event loop) with the limiter's scripts."""

    __slots__ = ("acquire", "client", "count", "release", "renew")

    def __init__(self, client: Any) -> None:
        self.client = client
        self.acquire = client.register_script(ACQUIRE)
        self.release = client.register_script(RELEASE)
        self.renew = client.register_script(RENEW)
        self.count = client.register_script(COUNT)


class RedisLink:
    """The clients for one Redis URL, made on first use, with every wait bounded.

    `socket_timeout` bounds any reply (a BLPOP's included), `connect_timeout` a connection; a
    failed command is retried once at once (a connection left stale by a Redis restart), not
    redis-py's default ten times with backoff, so a dead or frozen Redis fails in bounded time.
    """

    def __init__(self, url: str, *, socket_timeout: float, connect_timeout: float) -> None:
        if importlib.util.find_spec("redis") is None:  # say so now, not at the first request
            raise ImportError(
                "the shared limiter needs the redis client; install the extra: "
                'pip install "modelslab-integrations[redis]"'
            )
        self._url = url
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
            "retry_on_timeout": False,
        }
        self._lock = threading.Lock()
        self._sync: RedisConn | None = None
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisConn]
        self._by_loop = weakref.WeakKeyDictionary()

    def sync(self) -> RedisConn:
        with self._lock:
            if self._sync is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                client = redis.Redis.from_url(
                    self._url, retry=Retry(NoBackoff(), 1), **self._options
                )
                self._sync = RedisConn(client)
            return self._sync

    def for_running_loop(self) -> RedisConn:
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            # A client keeps its loop alive (its connections reference it): drop closed ones.
            for old in [old for old in self._by_loop if old.is_closed()]:
                del self._by_loop[old]
            conn = self._by_loop.get(loop)
            if conn is None:
                import redis.asyncio
                from redis.asyncio.retry import Retry
                from redis.backoff import NoBackoff

                client = redis.asyncio.Redis.from_url(
                    self._url, retry=Retry(NoBackoff(), 1), **self._options
                )
                conn = self._by_loop[loop] = RedisConn(client)
            return conn

    def close(self) -> None:
        """Close the sync client's pool (asyncio clients go with their loops)."""
        with self._lock:
            conn, self._sync = self._sync, None
        if conn is not None:
            conn.client.close()


def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when Redis is down, unreachable or refuses the command."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def check_url(url: str) -> None:
    if not isinstance(url, str) or urlsplit(url).scheme not in _SCHEMES:
        raise InvalidInputError(
            "the limiter URL must be redis://host:port/db, rediss://host:port/db "
            "or unix:///path/to/redis.sock"
        )


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
