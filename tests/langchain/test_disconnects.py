"""ChatModelsLab in a service: a sync streaming endpoint whose client left, limiter errors as
langchain-core errors, and the max_tokens sent in the trace (real sockets; held headers for
both adapters: tests/fidelity/test_first_byte_timeout.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelTimeoutError,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from langchain_modelslab import chat_models
from modelslab_emulator import Emulator
from modelslab_transport import DEFAULT_MODEL, ChatCompletion, ModelsLabClient, build_chat_payload
from modelslab_transport.limits import slots_for_key
from tests.support.abandoned_streams import LONG, TRICKLE, one_slot
from tests.support.loopback_app import leave_after_first_bytes, serve, unique_key, wait_until
from tests.support.models import PLAIN_MODEL, MakeChatModel
from tests.support.scenarios import scenario_header


def test_a_sync_streaming_endpoint_whose_client_left_frees_the_slot(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    # Starlette runs a sync generator in a thread pool and never closes it when the client
    # leaves: the stream's consumer limit is what frees the key's only slot.
    key = unique_key()
    # The default stream_consumer_timeout (30 s) is checked in tests/transport.
    llm = make_chat_model(TRICKLE, **one_slot(key), stream_consumer_timeout=1)

    def chat(request: Request) -> StreamingResponse:
        text = request.query_params.get("q", "Hi")

        def tokens() -> Any:
            for chunk in llm.stream(text):
                yield str(chunk.content)

        return StreamingResponse(tokens(), media_type="text/plain")

    slots = slots_for_key(key)
    app = Starlette(routes=[Route("/chat", chat)])
    with serve(app) as root:
        assert leave_after_first_bytes(f"{root}/chat?q={LONG}")
        assert slots.in_flight == 1  # the abandoned generator still holds it
        assert wait_until(lambda: slots.in_flight == 0, within=5) < 4
        fingerprint = Emulator.fingerprint(key)
        wait_until(lambda: fingerprint not in emulator.open_streams, within=3)
        quick = make_chat_model(model=PLAIN_MODEL, api_key=key, max_concurrent_requests=1)
        started = time.monotonic()
        assert quick.invoke("next").content == "You said: next"
        assert time.monotonic() - started < 3
    assert emulator.max_in_flight[fingerprint] == 1


def test_closing_a_stream_early_frees_the_slot_at_once(make_chat_model: MakeChatModel) -> None:
    # What ChatModelsLab.stream returns closes like the generator LangChain's stream is: a
    # consumer that stops early (contextlib.closing, a framework's cleanup) frees the slot.
    key = unique_key()
    llm = make_chat_model(TRICKLE, **one_slot(key), stream_consumer_timeout=30)
    slots = slots_for_key(key)
    chunks = llm.stream(LONG)
    assert next(chunks).content is not None
    assert slots.in_flight == 1
    close = getattr(chunks, "close", None)
    assert callable(close)
    close()
    assert slots.in_flight == 0
    assert list(chunks) == []


def test_limiter_errors_are_langchain_core_errors(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    key = unique_key()
    llm = make_chat_model(
        model=PLAIN_MODEL, api_key=key, max_concurrent_requests=1, acquire_timeout=0.3
    )
    holder = ModelsLabClient(
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=1,
        default_headers=scenario_header("hold-headers", delay=2, times=-1),
    )
    body = build_chat_payload(PLAIN_MODEL, [{"role": "user", "content": "hold"}])
    held: list[ChatCompletion] = []
    thread = threading.Thread(target=lambda: held.append(holder.chat(body)))
    thread.start()
    wait_until(lambda: slots_for_key(key).in_flight == 1, within=3)
    with pytest.raises(ModelError) as timed_out:
        llm.invoke("Hi")
    assert isinstance(timed_out.value, ModelTimeoutError)
    assert type(timed_out.value).__name__ == "ModelsLabLimiterTimeoutError"
    thread.join(10)
    assert held and held[0].first.content == "You said: hold"

    # A sync call on a loop whose async calls hold every slot: a usage error.
    async def blocked() -> None:
        slow = llm.model_copy(
            update={
                "default_headers": scenario_header("trickle", delay=0.2, times=-1),
                "acquire_timeout": 5,
            }
        )
        task = asyncio.ensure_future(_drain(slow.astream(LONG)))
        for _ in range(250):  # at most 5 s for the stream to take the slot
            if slots_for_key(key).in_flight:
                break
            await asyncio.sleep(0.02)
        try:
            with pytest.raises(ModelInvalidRequestError) as loop_blocked:
                slow.invoke("Hi")
            assert type(loop_blocked.value).__name__ == "ModelsLabEventLoopBlockedError"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(blocked())

    # The shared limiter's store down (nothing listens on port 9 of loopback).
    down = make_chat_model(
        model=PLAIN_MODEL,
        api_key=unique_key(),
        limiter_url="redis://127.0.0.1:9/0",
        acquire_timeout=2,
        max_retries=0,
    )
    with pytest.raises(ModelConnectionError) as unavailable:
        down.invoke("Hi")
    assert type(unavailable.value).__name__ == "ModelsLabLimiterUnavailableError"


async def _drain(chunks: Any) -> None:
    async for _ in chunks:
        await asyncio.sleep(0)


class _Params(BaseCallbackHandler):
    def __init__(self) -> None:
        self.max_tokens: list[Any] = []

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, metadata: Any = None, **kwargs: Any
    ) -> None:
        self.max_tokens.append((metadata or {}).get("ls_max_tokens"))


def test_ls_max_tokens_is_the_max_tokens_sent(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    seen = _Params()
    llm = make_chat_model(api_key=unique_key(), callbacks=[seen])
    llm.invoke("Hello there")  # Magistral: the default is computed from the prompt
    list(llm.stream("Hello there, a longer prompt " * 50))

    async def go() -> None:
        await llm.ainvoke("Hi")
        async for _ in llm.astream("Hi again"):
            pass

    asyncio.run(go())
    llm.invoke("Hi", max_tokens=77)  # a caller's own value, as before
    sent = [request.body["max_tokens"] for request in emulator.requests]
    assert seen.max_tokens == sent
    assert len(set(sent)) >= 3 and sent[-1] == 77


def test_a_traced_call_builds_its_body_once(
    emulator: Emulator, make_chat_model: MakeChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    build = chat_models.build_chat_payload

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(chat_models, "build_chat_payload", counted)
    seen = _Params()
    llm = make_chat_model(api_key=unique_key(), callbacks=[seen])
    llm.invoke("Hello there")  # `ls_max_tokens` needs the body: the same one is sent
    asyncio.run(llm.ainvoke("Hi"))
    llm.invoke([("user", "Hi")], stop=["x"])  # LangChain normalizes the list: still one build
    assert len(built) == 3
    assert seen.max_tokens == [request.body["max_tokens"] for request in emulator.requests]


def test_a_kept_body_serves_only_its_own_call(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    # The body built for one call's `ls_max_tokens` never reaches another call: not another
    # model's given the same message list, not a later call after a cache hit or new fields.
    from langchain_core.caches import InMemoryCache
    from langchain_core.messages import HumanMessage

    messages = [HumanMessage("hi")]
    first = make_chat_model(model=PLAIN_MODEL, api_key=unique_key(), cache=InMemoryCache())
    other = make_chat_model(model=DEFAULT_MODEL, api_key=unique_key(), max_tokens=5)

    def last_sent() -> tuple[str, int]:
        body = emulator.requests[-1].body
        return body["model"], body["max_tokens"]

    async def both() -> None:
        await first.agenerate([messages])
        await other.agenerate([messages])

    asyncio.run(both())
    assert last_sent() == (DEFAULT_MODEL, 5)
    first.generate([messages])
    first.generate([messages])  # a cache hit: its kept body is never taken
    other.generate([messages])
    assert last_sent() == (DEFAULT_MODEL, 5)
    first.cache = None
    first.generate([messages])
    first.max_tokens, first.temperature = 9, 0.25
    first.generate([messages])
    assert last_sent() == (PLAIN_MODEL, 9)
    assert emulator.requests[-1].body["temperature"] == 0.25
