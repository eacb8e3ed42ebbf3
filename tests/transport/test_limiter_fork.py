"""A worker forked (os.fork, multiprocessing with fork) while its parent's threads held the
key's in-process slots starts with none held: its requests are answered, not kept waiting for
slots that only the parent's threads could give back."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import LimiterTimeoutError, ModelsLabClient
from modelslab_transport.limits import slots_for_key
from tests.support.forked_children import join_process, wait_for_pid
from tests.support.slot_threads import held_in_thread
from tests.support.transport_calls import payload

pytestmark = pytest.mark.timeout(60)

KEY = "sk-limit-fork"
ANSWERED, TIMED_OUT, FAILED = 0, 3, 4


def child(base_url: str) -> None:
    """The forked worker: one request under limit 1; its exit code says how it went."""
    signal.alarm(20)  # a hang in the child ends it, whatever happens
    code = FAILED
    try:
        # Built after the fork: a client's pooled connections must not be shared with it.
        with ModelsLabClient(
            api_key=KEY, base_url=base_url, max_concurrent_requests=1, acquire_timeout=3
        ) as client:
            code = ANSWERED if client.chat(payload("forked")).first.content else FAILED
    except LimiterTimeoutError:
        code = TIMED_OUT
    finally:
        os._exit(code)


def fork_with_os(base_url: str) -> int:
    pid = os.fork()
    if pid == 0:
        child(base_url)
    return wait_for_pid(pid, time.monotonic() + 30)


def fork_with_multiprocessing(base_url: str) -> int:
    process = multiprocessing.get_context("fork").Process(target=child, args=(base_url,))
    process.start()
    return join_process(process, time.monotonic() + 30)


@pytest.mark.parametrize("fork", [fork_with_os, fork_with_multiprocessing], ids=["os", "mp"])
def test_a_forked_worker_does_not_wait_for_its_parents_slots(
    emulator: Emulator, fork: object
) -> None:
    with held_in_thread(slots_for_key(KEY), 1) as release:  # the key's only slot, in the parent
        timer = threading.Timer(0.2, release.set)  # the parent's thread lets go after the fork
        timer.start()
        code = fork(emulator.base_url)  # type: ignore[operator]
        timer.join()
    assert code == ANSWERED, {TIMED_OUT: "timed out waiting for the parent's slot"}.get(code, code)
    assert slots_for_key(KEY).in_flight == 0  # and the parent's count is its own
