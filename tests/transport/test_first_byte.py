"""Queued requests: the wait for a stream's first event has its own limit (first_byte_timeout),
SSE comments are signs of life, and silence after the first event still hits the idle limit."""

from __future__ import annotations

import asyncio
import socket
import time
from types import SimpleNamespace
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    APITimeoutError,
    AsyncModelsLabClient,
    ClientSettings,
    InvalidInputError,
    ModelsLabClient,
)
from modelslab_transport._stream_reader import StreamReader, stream_limits, stream_timeout
from tests.support.transport_calls import LLAMA, chat_requests, payload, scenario, text_in_mode

KEY = "sk-first-byte-0e11"
ANSWER = "You said: queued"
STREAMS = ["stream", "astream"]


def stream(mode: str, emulator: Emulator, headers: dict[str, str], **options: Any) -> str:
    options = {"max_retries": 0, **options}
    return text_in_mode(mode, emulator, "queued", api_key=KEY, default_headers=headers, **options)


def settings(**options: Any) -> ClientSettings:
    return ClientSettings.from_kwargs(api_key=KEY, base_url="http://127.0.0.1:1", **options)


def test_defaults_suit_a_queued_service() -> None:
    default = settings()
    assert (default.first_byte_timeout, default.stream_idle_timeout) == (600.0, 120.0)
    assert stream_limits(default) == (600.0, 120.0)
    assert stream_timeout(default).read == 600.0  # httpx waits as long as the longer limit
    # The read timeout bounds both limits: a caller's timeout=0.3 holds for streams too.
    assert stream_limits(settings(timeout=0.3)) == (0.3, 0.3)
    assert stream_limits(settings(first_byte_timeout=None, stream_idle_timeout=None)) == (
        600.0,
        600.0,
    )
    with pytest.raises(InvalidInputError, match="first_byte_timeout"):
        settings(first_byte_timeout=0)


@pytest.mark.parametrize("mode", STREAMS)
def test_comment_lines_keep_a_queued_stream_waiting(mode: str, emulator: Emulator) -> None:
    # Four keep-alive comments 0.3 s apart: longer than the idle limit, within the first-byte one.
    headers = scenario("comment-keepalive", count=4, delay=0.3)
    started = time.monotonic()
    assert stream(mode, emulator, headers, stream_idle_timeout=0.2, first_byte_timeout=5) == ANSWER
    assert time.monotonic() - started >= 1.2


@pytest.mark.parametrize("mode", STREAMS)
def test_silence_before_the_first_event_is_allowed_first_byte_timeout(
    mode: str, emulator: Emulator
) -> None:
    # Headers at once, then nothing for 0.8 s: four idle limits, well within first_byte_timeout.
    headers = scenario("comment-keepalive", count=0, delay=0.8)
    assert stream(mode, emulator, headers, stream_idle_timeout=0.2, first_byte_timeout=5) == ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_slow_headers_are_allowed_first_byte_timeout(mode: str, emulator: Emulator) -> None:
    headers = scenario("slow-first-byte", delay=0.7)
    assert stream(mode, emulator, headers, stream_idle_timeout=0.2, first_byte_timeout=5) == ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_first_byte_timeout_expires_and_is_not_resent(mode: str, emulator: Emulator) -> None:
    headers = scenario("comment-keepalive", count=0, delay=1.5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="first_byte_timeout"):
        stream(
            mode, emulator, headers, stream_idle_timeout=0.1, first_byte_timeout=0.4, max_retries=2
        )
    assert time.monotonic() - started < 1.2
    assert len(chat_requests(emulator, headers)) == 1  # a queued request may be billed


@pytest.mark.parametrize("mode", STREAMS)
def test_silence_after_the_first_event_hits_the_idle_timeout(mode: str, emulator: Emulator) -> None:
    headers = scenario("trickle", delay=0.6)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="stream_idle_timeout") as info:
        stream(mode, emulator, headers, stream_idle_timeout=0.25, first_byte_timeout=5)
    # The first event came at 0.6 s; the next would at 1.2 s: cut at about 0.85 s.
    assert time.monotonic() - started < 1.15
    assert info.value.partial_text == "You "


def test_comments_are_signs_of_life_after_the_first_event() -> None:
    reader = StreamReader(KEY, settings(stream_idle_timeout=0.2), time.monotonic())
    chunk = b'data: {"id":"g","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    assert reader.feed(chunk)
    for _ in range(3):
        time.sleep(0.12)
        assert reader.feed(b": OPENROUTER PROCESSING\n\n") == []
    time.sleep(0.12)
    assert reader.feed(chunk)  # 0.48 s after the first event, but never 0.2 s of silence
    time.sleep(0.25)
    with pytest.raises(APITimeoutError):
        reader.feed(b"da")  # bytes that complete no event are not a sign of life


def test_a_slow_consumer_is_not_a_silent_server(emulator: Emulator) -> None:
    # Events come 0.15 s apart, within the 0.2 s idle limit, and the caller spends 0.3 s on
    # each: the reader never waits for the server. The caller's time must not count.
    options: dict[str, Any] = {
        "api_key": KEY,
        "base_url": emulator.base_url,
        "stream_idle_timeout": 0.2,
        "max_retries": 0,
        "default_headers": scenario("trickle", delay=0.15, times=-1),
    }
    body = payload("x", model=LLAMA)
    with ModelsLabClient(**options) as client:
        texts = []
        for event in client.stream_chat(body):
            texts.append(getattr(event, "text", ""))
            time.sleep(0.3)
    assert "".join(texts) == "You said: x"

    async def go() -> str:
        async with AsyncModelsLabClient(**options) as client:
            texts = []
            async for event in client.stream_chat(body):
                texts.append(getattr(event, "text", ""))
                await asyncio.sleep(0.3)
            return "".join(texts)

    assert asyncio.run(go()) == "You said: x"


def test_the_watchdog_wakes_for_a_stream_resumed_after_a_long_pause() -> None:
    # While the caller holds an event the deadline is parked; if the watchdog looked in
    # meanwhile it has nothing to wake for, and resuming must wake it again.
    ours, theirs = socket.socketpair()
    stream = SimpleNamespace(get_extra_info=lambda key: ours if key == "socket" else None)
    reader = StreamReader(KEY, settings(stream_idle_timeout=0.2), time.monotonic())
    reader.arm(SimpleNamespace(extensions={"network_stream": stream}))  # type: ignore[arg-type]
    try:
        assert reader.feed(b'data: {"id":"g","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n')
        reader.pause()
        time.sleep(0.4)  # the watchdog passes the old deadline and finds the stream paused
        reader.resume()
        time.sleep(0.4)  # then the server stays silent for twice the idle limit
        error = reader.failure(RuntimeError("read ended"))
        assert isinstance(error, APITimeoutError) and "stream_idle_timeout" in str(error)
        assert ours.recv(1) == b""  # the socket was shut down, ending any blocked read
    finally:
        reader.release()
        ours.close()
        theirs.close()
