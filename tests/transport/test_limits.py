"""The per-key in-flight limit holds across clients, threads and event loops."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import AsyncModelsLabClient, ModelsLabClient, accumulate
from modelslab_transport._limiter import KeySlots, slots_for_key

from ._helpers import payload, scenario


def test_same_key_shares_one_gate_and_other_keys_do_not() -> None:
    assert slots_for_key("a-key") is slots_for_key("a-key")
    assert slots_for_key("a-key") is not slots_for_key("b-key")


async def test_async_requests_never_exceed_the_limit(emulator: Emulator) -> None:
    key = "sk-limit-async"
    headers = scenario("trickle", delay=0.02)
    async with AsyncModelsLabClient(
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=3,
        default_headers=headers,
    ) as client:

        async def one(i: int) -> str:
            events = [e async for e in client.stream_chat(payload(f"req {i}"))]
            return accumulate(events).first.content

        answers = await asyncio.gather(*(one(i) for i in range(12)))
    assert answers == [f"You said: req {i}" for i in range(12)]
    assert emulator.max_in_flight[emulator.fingerprint(key)] == 3
    assert slots_for_key(key).in_flight == 0


def test_threads_and_two_clients_share_the_limit(emulator: Emulator) -> None:
    key = "sk-limit-threads"
    headers = scenario("trickle", delay=0.02)
    clients = [
        ModelsLabClient(
            api_key=key,
            base_url=emulator.base_url,
            max_concurrent_requests=2,
            default_headers=headers,
        )
        for _ in range(2)
    ]

    def one(i: int) -> str:
        client = clients[i % 2]
        return accumulate(client.stream_chat(payload(f"t {i}"))).first.content

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, range(10)))
    assert answers == [f"You said: t {i}" for i in range(10)]
    assert emulator.max_in_flight[emulator.fingerprint(key)] == 2
    for client in clients:
        client.close()


def test_abandoned_stream_releases_its_slot(emulator: Emulator) -> None:
    key = "sk-limit-abandon"
    with ModelsLabClient(
        api_key=key, base_url=emulator.base_url, max_concurrent_requests=1
    ) as client:
        stream = client.stream_chat(payload("one two three four"))
        next(stream)
        assert slots_for_key(key).in_flight == 1
        stream.close()
        assert slots_for_key(key).in_flight == 0
        assert client.chat(payload("again")).first.content == "You said: again"


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    gate = KeySlots()
    async with gate.hold_async(1):
        waiter = asyncio.ensure_future(gate.hold_async(1).__aenter__())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert gate.in_flight == 0
    async with gate.hold_async(1):
        assert gate.in_flight == 1


def test_no_limit_means_no_gate() -> None:
    gate = KeySlots()
    with gate.hold(None):
        assert gate.in_flight == 0
