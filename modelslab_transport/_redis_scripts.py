"""The Redis side of the shared limiter: key names and the Lua scripts that change its state.

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

__all__ = ["ACQUIRE", "COUNT", "RELEASE", "RENEW", "LimiterKeys"]


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
