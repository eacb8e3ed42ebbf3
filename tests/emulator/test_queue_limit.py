"""The server-wide queue limit, its 429, and the stats endpoint other processes read."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from modelslab_emulator import Emulator
from tests.support.emulator_cli import emulator_cli
from tests.support.stdlib_http import KEY, LLAMA, Response, call, user

BODY = {"model_id": LLAMA, "messages": user("hi")}
#: Holds a request in flight long enough for the test to send another one meanwhile.
HOLD = "slow-first-byte;delay=2"


def control(emu: Emulator, method: str, path: str) -> tuple[int, Any, bytes]:
    """One request to the emulator's control endpoints, without any key."""
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw), raw
    finally:
        conn.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def in_flight_now(emu: Emulator, key: str) -> int:
    status, stats, _ = control(emu, "GET", "/_emulator/stats")
    assert status == 200
    count: int = stats["in_flight"].get(Emulator.fingerprint(key), 0)
    return count


@contextmanager
def held(emu: Emulator, count: int, key: str = KEY) -> Iterator[list[Future[Response]]]:
    """``count`` slow requests of ``key``, all in flight when the block starts."""
    with ThreadPoolExecutor(count) as pool:
        jobs = [
            pool.submit(call, emu, "/chat/completions", BODY, key=key, scenario=HOLD)
            for _ in range(count)
        ]
        wait_until(lambda: in_flight_now(emu, key) == count)
        yield jobs


def test_queue_limit_refuses_the_third_request() -> None:
    with Emulator(queue_limit=2, queue_retry_after=3) as emu:
        with held(emu, 2) as jobs:
            refused = call(emu, "/chat/completions", BODY)  # no scenario header at all
            other_key = call(emu, "/chat/completions", BODY, key="another-key")
        assert [j.result().status for j in jobs] == [200, 200]
        assert refused.status == 429
        assert refused.json() == {
            "status": "error",
            "message": "Rate limit exceeded. Maximum 2 queued requests allowed.",
            "retry_after": 3,
        }
        assert refused.headers["retry-after"] == "3"
        assert other_key.status == 200  # the limit is per key
        status, stats, raw = control(emu, "GET", "/_emulator/stats")
        mine = Emulator.fingerprint(KEY)
        assert status == 200
        assert stats["max_in_flight"][mine] == 2  # the refused request never counted
        assert stats["rate_limited"] == {mine: 1}
        assert stats["in_flight"] == {}
        assert KEY.encode() not in raw and b"another-key" not in raw
        assert emu.max_in_flight[mine] == 2 and emu.rate_limited == {mine: 1}
        # A refused request is not recorded as in flight, so the next one is served.
        assert call(emu, "/chat/completions", BODY).status == 200


def test_three_concurrent_requests_get_exactly_one_429() -> None:
    with Emulator(queue_limit=2) as emu, ThreadPoolExecutor(3) as pool:
        # All three arrive while the first ones are held (2 s, far above the arrival spread).
        jobs = [pool.submit(call, emu, "/chat/completions", BODY, scenario=HOLD) for _ in range(3)]
        statuses = sorted(j.result().status for j in jobs)
        assert statuses == [200, 200, 429]
        _, stats, _ = control(emu, "GET", "/_emulator/stats")
        assert stats["max_in_flight"] == {Emulator.fingerprint(KEY): 2}
        assert stats["rate_limited"] == {Emulator.fingerprint(KEY): 1}


def test_stats_reset() -> None:
    with Emulator(queue_limit=1) as emu:
        with held(emu, 1):
            assert call(emu, "/chat/completions", BODY).status == 429
        mine = Emulator.fingerprint(KEY)
        _, stats, _ = control(emu, "GET", "/_emulator/stats?reset=1")
        assert stats["rate_limited"] == {mine: 1} and stats["max_in_flight"] == {mine: 1}
        _, stats, _ = control(emu, "GET", "/_emulator/stats")
        assert stats["rate_limited"] == {} and stats["max_in_flight"] == {}
        assert call(emu, "/chat/completions", BODY).status == 200
        assert control(emu, "POST", "/_emulator/reset")[:2] == (200, {"status": "ok"})
        _, stats, _ = control(emu, "GET", "/_emulator/stats")
        assert stats["max_in_flight"] == {} and stats["max_in_flight_total"] == 0
        status, body, _ = control(emu, "GET", "/_emulator/nothing")
        assert status == 404 and body["status"] == "error"
        assert emu.requests[-1].status == 200  # control calls are never logged


def test_every_429_is_counted_and_clear_forgets_them() -> None:
    with Emulator() as emu:
        assert call(emu, "/chat/completions", BODY, scenario="rate-limit").status == 429
        assert emu.rate_limited == {Emulator.fingerprint(KEY): 1}
        emu.clear()
        assert emu.rate_limited == {}


def test_queue_limit_scenario_names_its_limit_and_overrides_the_option() -> None:
    with Emulator(queue_limit=1) as emu:
        scenario = "queue-limit;max=2;retry_after=0.5"
        with held(emu, 1):
            # the scenario's limit (2) replaces the option's (1) for this request
            second = call(emu, "/chat/completions", BODY, scenario=scenario)
            plain = call(emu, "/chat/completions", BODY)
        assert second.status == 200
        assert plain.status == 429 and "Maximum 1 queued" in plain.json()["message"]
    with Emulator() as emu:
        scenario = f"queue-limit;max=1;retry_after=0.5, {HOLD}"
        with held(emu, 1):
            refused = call(emu, "/chat/completions", BODY, scenario=scenario)
        assert refused.status == 429
        assert refused.json() == {
            "status": "error",
            "message": "Rate limit exceeded. Maximum 1 queued requests allowed.",
            "retry_after": 0.5,
        }
        assert emu.max_in_flight == {Emulator.fingerprint(KEY): 1}


@pytest.mark.parametrize("value", [0, -1])
def test_queue_limit_must_be_positive(value: int) -> None:
    with pytest.raises(ValueError, match="queue_limit"):
        Emulator(queue_limit=value)
    with pytest.raises(ValueError, match="queue_retry_after"):
        Emulator(queue_retry_after=value - 0.5)


def test_queue_limit_cli_flags() -> None:
    with emulator_cli("--queue-limit", "2", "--queue-retry-after", "7") as emu:
        with held(emu, 2):
            refused = call(emu, "/chat/completions", BODY)
        assert refused.status == 429
        assert refused.json()["retry_after"] == 7
        assert "Maximum 2 queued" in refused.json()["message"]
        _, stats, raw = control(emu, "GET", "/_emulator/stats")
        assert stats["max_in_flight"] == {Emulator.fingerprint(KEY): 2}
        assert stats["rate_limited"] == {Emulator.fingerprint(KEY): 1}
        assert KEY.encode() not in raw
