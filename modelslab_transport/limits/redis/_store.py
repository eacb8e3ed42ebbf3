"""The shared limiter's Redis side: its settings, key names, Lua scripts and connections.

`RedisLimiterSettings` says how the limiter leases, waits and fails; `LimiterKeys` and the
scripts hold one key's state (below); `RedisLink` keeps one sync client (thread-safe, its own
pool) and one asyncio client per event loop, since an asyncio connection belongs to the loop
that opened it. Redis is imported here, on first use.

One key's state, under `modelslab:limiter:{<sha256 of the key>}:`:
  leases  sorted set, lease id -> expiry (ms, Redis server clock); one member per slot held
  queue   sorted set, ticket -> arrival number; the waiters, first come first served
  alive   sorted set, ticket -> expiry (ms); a waiter refreshes it on every poll, so the ticket
          of a waiter that died leaves the queue instead of blocking it
  seq     counter giving arrival numbers
  wake:<ticket>  list a waiter blocks on (BLPOP); pushed when a slot it fits in comes free

Every change is one script, so it is atomic; times come from the server's clock (TIME), so
machines with skewed clocks agree on when a lease expired. Needs Redis >= 5 (scripts that
call TIME and then write). The `{...}` hash tag keeps one key's state in one cluster slot.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._errors import InvalidInputError
from .._gates import PerLoop

if TYPE_CHECKING:
    pass

__all__ = [
    "ACQUIRE",
    "COUNT",
    "MAX_SLOT_RETURN_SECONDS",
    "RELEASE",
    "RENEW",
    "LimiterKeys",
    "RedisConn",
    "RedisLimiterSettings",
    "RedisLink",
    "check_limit",
    "redis_errors",
]


# The longest a dead holder's slot may stay taken: lease_seconds + poll_seconds must fit in it.
MAX_SLOT_RETURN_SECONDS = 30.0


@dataclass(frozen=True)
class RedisLimiterSettings:
    """How the shared limiter leases, waits and fails; frozen and hashable (a cache key).

    >>> RedisLimiterSettings(lease_seconds=10.0).slot_return_bound
    11.0
    """

    lease_seconds: float = 15.0
    """A slot's time to live; renewed every third of it while its request runs."""
    poll_seconds: float = 1.0
    """A waiter's safety-net wake-up, when it re-checks for expired leases."""
    redis_timeout: float = 2.0
    """Connect timeout, and the reply timeout on top of a poll."""
    acquire_timeout: float | None = None
    """How long a caller may wait for a slot (None: as long as it takes)."""
    fallback_to_local: bool = False
    """Redis down: use the in-process limit (with a WARNING) instead of raising."""

    def __post_init__(self) -> None:
        if not self.lease_seconds >= 1.0 or not 0.0 < self.poll_seconds <= 5.0:
            raise InvalidInputError("lease_seconds must be >= 1 and poll_seconds in (0, 5]")
        if self.slot_return_bound > MAX_SLOT_RETURN_SECONDS:
            raise InvalidInputError(
                f"lease_seconds + poll_seconds must be at most {MAX_SLOT_RETURN_SECONDS:.0f}: "
                "that is how long a crashed holder's slot may stay taken"
            )
        timeout = self.acquire_timeout
        if not self.redis_timeout > 0 or (timeout is not None and not timeout > 0):
            raise InvalidInputError("redis_timeout and acquire_timeout must be positive seconds")

    @property
    def slot_return_bound(self) -> float:
        """Seconds within which a dead holder's slot is free again."""
        return self.lease_seconds + self.poll_seconds

    @property
    def lease_ms(self) -> int:
        return round(self.lease_seconds * 1000)

    @property
    def ticket_ms(self) -> int:
        # A waiter refreshes its ticket once per poll; a ticket outliving two polls is dead.
        return round((2 * self.poll_seconds + self.redis_timeout + 1.0) * 1000)

    @property
    def idle_ms(self) -> int:
        # After this long untouched, one key's state in Redis expires on its own.
        return 2 * (self.lease_ms + self.ticket_ms)


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"the in-flight limit must be an integer >= 1, not {limit!r}")


class LimiterKeys:
    """The Redis key names for one API key, built from its hash (never from the key)."""

    __slots__ = ("alive", "leases", "queue", "seq", "wake_prefix")

    def __init__(self, key_hash: str) -> None:
        prefix = f"modelslab:limiter:{{{key_hash}}}:"
        self.leases = prefix + "leases"
        self.queue = prefix + "queue"
        self.alive = prefix + "alive"
        self.seq = prefix + "seq"
        self.wake_prefix = prefix + "wake:"

    @property
    def state(self) -> list[str]:
        """The KEYS every script takes, in its order."""
        return [self.leases, self.queue, self.alive, self.seq]

    def wake(self, ticket: str) -> str:
        return self.wake_prefix + ticket


# Shared prelude: the server clock in ms, expired leases and dead waiters dropped.
_PRELUDE = """
local leases, queue, alive, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', alive, '-inf', now)
for _, d in ipairs(dead) do redis.call('ZREM', queue, d) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', alive, '-inf', now) end

-- Wake the head-of-line waiters that fit in `free` slots (one pending wake-up each at most).
local function wake_fitting(free, prefix, skip, ttl)
  if free <= 0 then return end
  for _, w in ipairs(redis.call('ZRANGE', queue, 0, free - 1)) do
    if w ~= skip and redis.call('EXISTS', prefix .. w) == 0 then
      redis.call('RPUSH', prefix .. w, 1)
      redis.call('PEXPIRE', prefix .. w, ttl)
    end
  end
end

-- Idle state disappears on its own; any live holder or waiter refreshes it.
local function keep(idle)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], idle) end
end
"""

ACQUIRE = (
    _PRELUDE
    + """
-- ARGV: ticket, limit, lease_ms, ticket_ms, wake_prefix, idle_ms. Returns 1 when granted.
local ticket, limit = ARGV[1], tonumber(ARGV[2])
local lease_ms, ticket_ms, prefix = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
if not redis.call('ZSCORE', queue, ticket) then
  redis.call('ZADD', queue, redis.call('INCR', seq), ticket)
end
redis.call('ZADD', alive, now + ticket_ms, ticket)
local free = limit - redis.call('ZCARD', leases)
local granted = 0
if redis.call('ZRANK', queue, ticket) < free then
  redis.call('ZREM', queue, ticket)
  redis.call('ZREM', alive, ticket)
  redis.call('DEL', prefix .. ticket)
  redis.call('ZADD', leases, now + lease_ms, ticket)
  granted = 1
  free = free - 1
end
-- Slots freed by expired leases (or several releases) go to the next in line too.
wake_fitting(free, prefix, ticket, ticket_ms)
keep(tonumber(ARGV[6]))
return granted
"""
)

RELEASE = (
    _PRELUDE
    + """
-- ARGV: ticket, limit, wake_prefix, ticket_ms. Drops the lease or the waiting ticket.
local ticket, limit, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local held = redis.call('ZREM', leases, ticket)
redis.call('ZREM', queue, ticket)
redis.call('ZREM', alive, ticket)
redis.call('DEL', prefix .. ticket)
wake_fitting(limit - redis.call('ZCARD', leases), prefix, ticket, tonumber(ARGV[4]))
return held
"""
)

RENEW = """
-- KEYS: leases, queue, alive, seq. ARGV: lease id, lease_ms, idle_ms.
-- Returns 0 when the lease is gone (it expired and was reaped): the holder has lost its slot.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3])) end
return 1
"""

COUNT = """
-- KEYS: leases, queue. Returns {leases not yet expired, tickets waiting}; changes nothing.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), redis.call('ZCARD', KEYS[2])}
"""


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
        self._by_loop = PerLoop(self._for_new_loop)

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
        return self._by_loop.get()

    def _for_new_loop(self) -> RedisConn:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        client = redis.asyncio.Redis.from_url(
            self._url, retry=Retry(NoBackoff(), 1), **self._options
        )
        return RedisConn(client)

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
