"""A stream's slot is held exactly as long as its upstream request can run; held-back headers
count toward `first_byte_timeout` (real loopback sockets, the emulator watching the far end)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    APITimeoutError,
    AsyncModelsLabClient,
    ModelsLabClient,
    StreamEvent,
    default_of,
)
from modelslab_transport.limits import slots_for_key
from tests.support.loopback_app import unique_key, wait_until
from tests.support.transport_calls import payload, scenario

# 40 words: a 0.2 s trickle keeps this stream going for about 9 s if nobody closes it.
LONG = " ".join(f"word{i}" for i in range(40))


def test_the_consumer_limit_defaults_to_at_most_30_seconds() -> None:
    assert default_of("stream_consumer_timeout") is not None
    assert 0 < default_of("stream_consumer_timeout") <= 30


def held_headers(emulator: Emulator, delay: float) -> dict[str, Any]:
    """Client options: a first_byte_timeout of 1 s, every answer's headers held back `delay` s."""
    return {
        "api_key": unique_key(),
        "base_url": emulator.base_url,
        "first_byte_timeout": 1,
        "default_headers": scenario("hold-headers", delay=delay, times=-1),
    }


def test_headers_held_back_fail_within_first_byte_timeout(emulator: Emulator) -> None:
    options = held_headers(emulator, 4)
    started = time.monotonic()
    with ModelsLabClient(**options) as client, pytest.raises(APITimeoutError) as sync_error:
        list(client.stream_chat(payload()))
    assert time.monotonic() - started < 3  # not the 4 s of held headers, nor a resend
    assert "first_byte_timeout" in str(sync_error.value)

    async def go() -> None:
        async with AsyncModelsLabClient(**options) as client:
            async for _ in client.stream_chat(payload()):
                pass

    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="first_byte_timeout"):
        asyncio.run(go())
    assert time.monotonic() - started < 3


def test_headers_within_first_byte_timeout_then_a_long_stream_pass(emulator: Emulator) -> None:
    # After the headers the body's reads get the longer limit back: a stream whose events
    # come 0.3 s apart is not cut by a first_byte_timeout of 1 s once it has begun.
    options = held_headers(emulator, 0.5)
    with ModelsLabClient(**options) as client:
        events = list(client.stream_chat(payload("one two three")))
    assert "".join(getattr(e, "text", "") for e in events) == "You said: one two three"


def test_an_abandoned_sync_stream_frees_its_slot_and_closes_its_connection(
    emulator: Emulator,
) -> None:
    key = unique_key()
    slots = slots_for_key(key)
    headers = scenario("trickle", delay=0.2, times=-1)
    client = ModelsLabClient(
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=1,
        stream_consumer_timeout=0.5,
        acquire_timeout=5,
        default_headers=headers,
    )
    stream = client.stream_chat(payload(LONG))
    next(stream)  # the consumer takes one event and walks away without closing the generator
    assert slots.in_flight == 1
    assert wait_until(lambda: slots.in_flight == 0, within=3) < 2.5
    # The server saw the connection closed, long before the stream's natural end (~9 s).
    fingerprint = Emulator.fingerprint(key)
    wait_until(lambda: fingerprint not in emulator.open_streams, within=3)
    wait_until(lambda: fingerprint not in emulator.in_flight, within=3)
    # The next request of the key runs at once, and the first consumer, back, gets a typed error.
    quick = ModelsLabClient(api_key=key, base_url=emulator.base_url, max_concurrent_requests=1)
    assert quick.chat(payload("hi")).first.content == "You said: hi"
    with pytest.raises(APITimeoutError, match="stream_consumer_timeout"):
        for _ in stream:
            pass
    assert slots.in_flight == 0
    assert emulator.max_in_flight[fingerprint] == 1


def test_a_consumer_within_the_limit_keeps_its_stream(emulator: Emulator) -> None:
    headers = scenario("trickle", delay=0.05, times=-1)
    options = {
        "api_key": unique_key(),
        "base_url": emulator.base_url,
        "stream_consumer_timeout": 0.5,
        "default_headers": headers,
    }
    texts = []
    with ModelsLabClient(**options) as client:
        for event in client.stream_chat(payload("a b c")):
            texts.append(getattr(event, "text", ""))
            time.sleep(0.3)  # slow, but back within the limit every time
    assert "".join(texts) == "You said: a b c"


def test_an_anyio_cancelled_stream_closes_its_connection_before_freeing_its_slot(
    emulator: Emulator,
) -> None:
    key = unique_key()
    slots = slots_for_key(key)
    fingerprint = Emulator.fingerprint(key)
    seen: list[StreamEvent] = []

    async def go() -> float:
        client = AsyncModelsLabClient(
            api_key=key,
            base_url=emulator.base_url,
            max_concurrent_requests=1,
            default_headers=scenario("trickle", delay=0.2, times=-1),
        )

        async def consume() -> None:
            async for event in client.stream_chat(payload(LONG)):
                seen.append(event)

        # LlamaIndex's shape: the stream is read by a task of its own that the request's task
        # awaits; anyio cancels the waiting task again on every loop turn, and each cancel is
        # passed on to the awaited task, so every await in the stream's cleanup is cancelled.
        reader = asyncio.ensure_future(consume())
        with anyio.move_on_after(1.0):
            await reader
        assert slots.in_flight == 0
        cancelled = time.monotonic()
        while fingerprint in emulator.open_streams:
            assert time.monotonic() - cancelled < 3, "the upstream connection stayed open"
            await asyncio.sleep(0.02)
        answer = await client.chat(payload("next"))
        assert answer.first.content == "You said: next"
        await client.aclose()
        return time.monotonic() - cancelled

    assert asyncio.run(go()) < 3
    assert seen  # it was streaming when cancelled
    assert emulator.max_in_flight[fingerprint] == 1
