"""ModelsLabLLM in a service: held headers, and a FastAPI chat-engine stream whose client left
(the engine reads the stream in a task of its own, cancelled through anyio)."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.chat_engine import SimpleChatEngine

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import APITimeoutError
from modelslab_transport.limits import slots_for_key
from tests.support.loopback_app import leave_after_first_bytes, serve, unique_key, wait_until

LLAMA = "meta-llama-llama-3.1-8b-instruct"
LONG = " ".join(f"word{i}" for i in range(40))


def _scenario(value: str) -> dict[str, str]:
    return {"X-Emulator-Scenario": f"{value};times=-1;id={unique_key()}"}


def test_held_headers_raise_the_typed_timeout_within_first_byte_timeout(
    emulator: Emulator,
) -> None:
    llm = ModelsLabLLM(
        model=LLAMA,
        api_key=unique_key(),
        base_url=emulator.base_url,
        first_byte_timeout=1,
        default_headers=_scenario("hold-headers;delay=4"),
    )
    messages = [ChatMessage(role="user", content="Hi")]
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="first_byte_timeout"):
        list(llm.stream_chat(messages))
    assert time.monotonic() - started < 3

    async def go() -> None:
        async for _ in await llm.astream_chat(messages):
            pass

    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="first_byte_timeout"):
        asyncio.run(go())
    assert time.monotonic() - started < 3


def test_a_chat_engine_stream_whose_client_left_closes_its_connection(
    emulator: Emulator,
) -> None:
    key = unique_key()
    llm = ModelsLabLLM(
        model=LLAMA,
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=1,
        acquire_timeout=10,
        default_headers=_scenario("trickle;delay=0.2"),
    )
    app = FastAPI()

    @app.get("/chat")
    async def chat(q: str) -> StreamingResponse:
        engine = SimpleChatEngine.from_defaults(llm=llm)
        response = await engine.astream_chat(q)
        return StreamingResponse(response.async_response_gen(), media_type="text/plain")

    fingerprint = Emulator.fingerprint(key)
    with serve(app) as root:
        assert leave_after_first_bytes(f"{root}/chat?q={LONG}")
        # The upstream stream (about 9 s long) is closed, seen from the server's side.
        assert wait_until(lambda: fingerprint not in emulator.open_streams, within=3) < 3
        wait_until(lambda: slots_for_key(key).in_flight == 0, within=3)
        assert leave_after_first_bytes(f"{root}/chat?q=again")
        wait_until(lambda: fingerprint not in emulator.open_streams, within=3)
    assert emulator.max_in_flight[fingerprint] == 1
