"""The machine-local limiter (the default) across real processes: a SIGKILLed holder's slot comes
back within a second, two keys never share slots, an async waiter leaves its loop running and a
cancelled one leaves the queue. Holders are adapter worker processes with default settings, in
the middle of a slow request to the emulator; every test has its own XDG_RUNTIME_DIR."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import ClientSettings, LimiterTimeoutError
from modelslab_transport.limits._machine import MachineSlots, machine_slots
from tests.support.adapter_processes import go, in_flight, result, start_worker
from tests.support.slot_threads import wait_until

pytestmark = pytest.mark.timeout(60)

SLOW = {"X-Emulator-Scenario": "slow-first-byte;delay=30"}


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own slot directory, inherited by the processes it starts."""
    path = tmp_path / "run"
    path.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    return path


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def slots_of(key: str, emulator: Emulator, acquire_timeout: float = 30.0) -> MachineSlots:
    """This process's machine slots for the key and base URL an adapter with defaults uses."""
    base_url = ClientSettings.from_kwargs(api_key=key, base_url=emulator.base_url).base_url
    slots = machine_slots(key, base_url, acquire_timeout=acquire_timeout)
    assert slots is not None
    return slots


def holding(emulator: Emulator, key: str) -> subprocess.Popen[str]:
    """A worker process (default settings, limit 1) in the middle of a 30 s request."""
    before = in_flight(emulator.stats_url)
    holder = start_worker(
        adapter="langchain", base_url=emulator.base_url, key=key, limit=1, n=1,
        tag="holder", headers=SLOW,
    )  # fmt: skip
    go(holder)
    wait_until(
        lambda: in_flight(emulator.stats_url) == before + 1, 15.0
    )  # its slot taken, its request running
    return holder


def kill(proc: subprocess.Popen[str]) -> float:
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    proc.communicate()
    return killed


def test_sigkilled_holder_frees_its_slot_within_a_second(emulator: Emulator) -> None:
    key = "machine-kill-key"
    holder = holding(emulator, key)
    slots = slots_of(key, emulator)
    took: list[float] = []

    def wait() -> None:
        with slots.hold(1):
            took.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    try:
        time.sleep(0.3)
        assert not took, "the slot was taken while its holder was alive"
        assert slots.waiting == 1
    finally:
        killed = kill(holder)
        waiter.join(10)
    assert took, "the slot never came back"
    print(f"slot back {took[0] - killed:.3f}s after SIGKILL")
    assert took[0] - killed < 1.0


def test_two_keys_do_not_share_slots(emulator: Emulator, runtime_dir: Path) -> None:
    holder = holding(emulator, "machine-key-a")
    try:
        other = slots_of("machine-key-b", emulator)
        started = time.monotonic()
        with other.hold(1):  # key b's only slot: free, whatever key a's holder does
            assert time.monotonic() - started < 0.5
        same = slots_of("machine-key-a", emulator, acquire_timeout=0.5)
        with pytest.raises(LimiterTimeoutError), same.hold(1):
            pass  # key a's only slot is the holder's
    finally:
        kill(holder)
    names = [path.name for path in runtime_dir.rglob("*")]
    assert len([name for name in names if name.endswith(".slots")]) == 2
    assert not any("machine-key" in name for name in names)  # files named by a keyed hash
    directory = next(path for path in runtime_dir.iterdir())
    assert directory.stat().st_mode & 0o777 == 0o700
    for path in directory.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600


def test_async_waiter_leaves_its_loop_running_and_a_cancelled_one_leaves_the_queue(
    emulator: Emulator,
) -> None:
    key = "machine-async-key"
    holder = holding(emulator, key)
    slots = slots_of(key, emulator)

    async def scenario() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def wait() -> None:
            async with slots.hold_async(1):
                raise AssertionError("a slot was granted while its holder was alive")

        tick = asyncio.create_task(ticker())
        waiter = asyncio.create_task(wait())
        await asyncio.sleep(0.5)
        assert not waiter.done() and slots.waiting == 1
        assert ticks >= 15, f"the loop ran only {ticks} ticks in 0.5 s"  # about 50 when free
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        tick.cancel()
        assert slots.waiting == 0 and slots.in_flight == 0

    try:
        asyncio.run(scenario())
    finally:
        kill(holder)
    time.sleep(0.3)  # had the cancelled waiter stayed queued, this process would hold it now
    assert slots.in_flight == 0 and slots.waiting == 0
    after = start_worker(
        adapter="llama_index", base_url=emulator.base_url, key=key, limit=1, n=1, tag="after"
    )
    started = time.monotonic()
    go(after)
    assert result(after, timeout=20)["answers"] == ["You said: after prompt 0"]
    assert time.monotonic() - started < 10
