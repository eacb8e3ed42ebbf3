"""The shared limiter never puts the key into Redis (names or values), its repr or its errors;
bad settings are refused before any connection; importing the transport does not import redis."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import threading
import time

import pytest

from modelslab_transport import InvalidInputError, LimiterTimeoutError, LimiterUnavailableError
from modelslab_transport.limits.redis import RedisSlots, redis_slots
from tests.support.redis_server import RedisServer

CANARY = "sk-canary-7f3e9a1c5b2d4e6f8a0b"


def _everything_in(server: RedisServer) -> list[bytes]:
    """Every key name and every stored value, whatever its type."""
    client, found = server.client, []
    for key in client.scan_iter(count=1000):
        found.append(key)
        kind = client.type(key).decode()
        if kind == "string":
            found.extend(v for v in [client.get(key)] if v is not None)
        elif kind == "list":
            found.extend(client.lrange(key, 0, -1))
        elif kind == "zset":
            found.extend(m for m, _ in client.zrange(key, 0, -1, withscores=True))
        elif kind == "set":
            found.extend(client.smembers(key))
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                found.extend([field, value])
        elif kind != "none":  # "none": gone since the scan (a wake-up list popped)
            raise AssertionError(f"unexpected Redis type {kind}")
    return found


@pytest.mark.redis
async def test_the_key_never_reaches_redis(redis_server: RedisServer) -> None:
    slots = redis_slots(redis_server.url, CANARY, acquire_timeout=2.0)
    holding, release, seen = threading.Event(), threading.Event(), []

    def hold() -> None:
        with slots.hold(1):
            seen.extend(_everything_in(redis_server))  # a lease
            holding.set()
            deadline = time.monotonic() + 10
            while slots.waiting < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.extend(_everything_in(redis_server))  # a lease and a queued waiter
            release.wait(10)

    async def wait() -> None:
        async with slots.hold_async(1):
            pytest.fail("got a slot that was taken")

    holder = threading.Thread(target=hold)
    holder.start()
    assert await asyncio.to_thread(holding.wait, 10)
    with pytest.raises(LimiterTimeoutError) as timed_out:
        await asyncio.wait_for(wait(), 10)
    release.set()
    holder.join(10)
    seen.extend(_everything_in(redis_server))

    digest = hashlib.sha256(CANARY.encode()).hexdigest()
    assert sum(digest.encode() in item for item in seen) >= 4  # the state was there to be seen
    canary = CANARY.encode()
    assert not [item for item in seen if canary in item or canary[3:] in item]
    for text in (repr(slots), str(timed_out.value), repr(timed_out.value)):
        assert CANARY not in text and CANARY[3:] not in text


def test_a_dead_redis_error_names_neither_key_nor_password() -> None:
    slots = redis_slots("redis://:hunter2secret@127.0.0.1:1/0", CANARY, redis_timeout=0.5)
    with pytest.raises(LimiterUnavailableError) as failed:
        with slots.hold(1):
            pytest.fail("got a slot without Redis")
    text = f"{failed.value} {failed.value!r} {slots!r}"
    assert "127.0.0.1:1" in text
    assert "hunter2secret" not in text and CANARY not in text and CANARY[3:] not in text


def test_no_limit_needs_no_redis() -> None:
    slots = redis_slots("redis://127.0.0.1:1/0", CANARY)
    with slots.hold(None):
        pass


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("http://localhost:6379", {}),
        ("localhost:6379", {}),
        ("redis://localhost:6379/0", {"lease_seconds": 29.5, "poll_seconds": 1.0}),
        ("redis://localhost:6379/0", {"lease_seconds": 0.5}),
        ("redis://localhost:6379/0", {"poll_seconds": 0}),
        ("redis://localhost:6379/0", {"acquire_timeout": 0}),
        ("redis://localhost:6379/0", {"redis_timeout": -1}),
    ],
)
def test_bad_settings_are_refused_before_connecting(url: str, settings: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        redis_slots(url, CANARY, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, 2.5, True])
def test_a_bad_limit_is_refused_before_connecting(limit: object) -> None:
    slots = redis_slots("redis://127.0.0.1:1/0", CANARY)
    with pytest.raises(InvalidInputError):
        with slots.hold(limit):  # type: ignore[arg-type]
            pass


def test_all_three_url_forms_are_accepted() -> None:
    for url in ("redis://h:6379/0", "rediss://h:6380/1", "unix:///run/redis.sock?db=2"):
        assert isinstance(redis_slots(url, CANARY), RedisSlots)


def test_one_limiter_per_url_key_and_settings() -> None:
    url = "redis://127.0.0.1:1/0"
    assert redis_slots(url, CANARY) is redis_slots(url, CANARY)
    assert redis_slots(url, CANARY) is not redis_slots(url, CANARY + "x")
    assert redis_slots(url, CANARY) is not redis_slots(url, CANARY, acquire_timeout=1.0)


def test_importing_the_transport_or_the_limiter_does_not_import_redis() -> None:
    code = (
        "import sys, modelslab_transport, modelslab_transport.limits.redis\n"
        "assert 'redis' not in sys.modules, 'redis imported'\n"
        "assert 'asyncio' not in sys.modules, 'asyncio imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_settings_docstring_example_holds() -> None:
    import doctest

    from modelslab_transport.limits.redis import _store as _redis_store

    result = doctest.testmod(_redis_store)
    assert result.attempted > 0 and result.failed == 0


def test_without_the_redis_client_the_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['redis'] = None  # as if not installed\n"
        "from modelslab_transport.limits.redis import redis_slots\n"
        "try:\n"
        "    redis_slots('redis://127.0.0.1:1/0', 'k')\n"
        "except ImportError as exc:\n"
        "    assert 'modelslab-integrations[redis]' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
