"""A worker forked after its parent used the shared limiter (gunicorn `--preload`, Celery
prefork, `multiprocessing` with fork) holds its slots like any process: it keeps a slot past
many lease lengths, it waits for a slot the parent frees, and the parent's slot is untouched."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelslab_transport import LimiterTimeoutError
from modelslab_transport.limits.redis import redis_slots
from tests.support.holder_processes import read_event, spawn
from tests.support.redis_server import RedisServer
from tests.support.slot_threads import KEY

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

FORKER = Path(__file__).with_name("forking_process.py")
FORKS = ["os.fork", "multiprocessing"]
LEASE = 1.0  # seconds: the shortest lease the limiter takes, so several pass quickly
CHILD_HOLD = 7.0  # the child's hold: seven lease lengths


@contextmanager
def forked(redis_url: str, mode: str, fork: str, limit: int) -> Iterator[subprocess.Popen[str]]:
    """The forker in `mode`, once its parent holds a slot; afterwards it must end cleanly."""
    cfg = {"url": redis_url, "key": KEY, "lease": LEASE, "acquire": 10.0, "limit": limit}
    hold = CHILD_HOLD if mode == "renew" else 0.0
    proc = spawn(FORKER, {**cfg, "mode": mode, "fork": fork, "hold": hold})
    try:
        read_event(proc, "PARENT-HELD")
        yield proc
    finally:
        err = finish(proc)
    assert proc.returncode == 0, err


def finish(proc: subprocess.Popen[str]) -> str:
    """Let the forker end; its stderr."""
    try:
        _, err = proc.communicate("go\n", timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


@pytest.mark.parametrize("fork", FORKS)
def test_a_forked_child_keeps_its_slot_past_many_leases(
    redis_server: RedisServer, fork: str
) -> None:
    with forked(redis_server.url, "renew", fork, limit=2) as proc:
        held = read_event(proc, "HELD")
        # Parent and child hold both slots: nobody else may take one for three lease lengths
        # (a lease the child never renews expires after one, and its slot is taken at once).
        other = redis_slots(redis_server.url, KEY, acquire_timeout=3 * LEASE)
        with pytest.raises(LimiterTimeoutError):
            with other.hold(2):
                pytest.fail(f"took a slot {time.time() - held:.1f}s after the child took its own")
        assert other.in_flight == 2
        read_event(proc, "RELEASED")
        assert read_event(proc, "CHILD-EXIT") == 0
        # The child has come and gone: the parent's slot, renewed by the parent, is still held.
        assert other.in_flight == 1
        with other.hold(2):  # and the child's slot is free again
            assert other.in_flight == 2
    assert redis_slots(redis_server.url, KEY).in_flight == 0  # the parent gave its slot back


@pytest.mark.parametrize("fork", FORKS)
def test_a_forked_child_gets_the_slot_its_parent_frees(
    redis_server: RedisServer, fork: str
) -> None:
    # Forked while a parent thread held the only slot: the child's own bookkeeping starts
    # empty, so once the parent gives the slot back (in Redis) the child gets it.
    with forked(redis_server.url, "gate", fork, limit=1) as proc:
        word = proc.stdout.readline() if proc.stdout else ""
        assert word.startswith("HELD"), f"the child printed {word!r} instead of taking the slot"
        read_event(proc, "RELEASED")
        assert read_event(proc, "CHILD-EXIT") == 0
