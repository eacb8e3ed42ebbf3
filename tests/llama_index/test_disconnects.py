"""ModelsLabLLM in a service: a FastAPI chat-engine stream whose client left (the engine reads
the stream in a task of its own, cancelled through anyio; held headers for both adapters:
tests/fidelity/test_first_byte_timeout.py)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from llama_index.core.chat_engine import SimpleChatEngine

from modelslab_emulator import Emulator
from modelslab_transport.limits import slots_for_key
from tests.support.abandoned_streams import LONG, TRICKLE, one_slot
from tests.support.loopback_app import leave_after_first_bytes, serve, unique_key, wait_until
from tests.support.models import MakeLLM
from tests.support.scenarios import unique


def test_a_chat_engine_stream_whose_client_left_closes_its_connection(
    emulator: Emulator, make_llm: MakeLLM
) -> None:
    key = unique_key()
    llm = make_llm(unique(TRICKLE), **one_slot(key))
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
