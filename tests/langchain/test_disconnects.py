"""ChatModelsLab in a service: held headers, a sync streaming endpoint whose client left,
limiter errors as langchain-core errors, and the max_tokens sent in the trace (real sockets)."""

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

from langchain_modelslab import ChatModelsLab, ModelsLabAPITimeoutError, chat_models
from modelslab_emulator import Emulator
from modelslab_transport import ChatCompletion, ModelsLabClient, build_chat_payload
from modelslab_transport.limits import slots_for_key
from tests.support.loopback_app import leave_after_first_bytes, serve, unique_key, wait_until

LLAMA = "meta-llama-llama-3.1-8b-instruct"
LONG = " ".join(f"word{i}" for i in range(40))


def _scenario(value: str) -> dict[str, str]:
    return {"X-Emulator-Scenario": f"{value};times=-1;id={unique_key()}"}


def test_held_headers_raise_the_typed_timeout_within_first_byte_timeout(
    emulator: Emulator,
) -> None:
    llm = ChatModelsLab(
        model=LLAMA,
        api_key=unique_key(),
        base_url=emulator.base_url,
        first_byte_timeout=1,
        default_headers=_scenario("hold-headers;delay=4"),
    )
    started = time.monotonic()
    with pytest.raises(ModelsLabAPITimeoutError) as error:
        list(llm.stream("Hi"))
    assert time.monotonic() - started < 3
    assert isinstance(error.value, ModelTimeoutError)

    async def go() -> None:
        async for _ in llm.astream("Hi"):
            pass

    started = time.monotonic()
    with pytest.raises(ModelTimeoutError, match="first_byte_timeout"):
        asyncio.run(go())
    assert time.monotonic() - started < 3


def test_a_sync_streaming_endpoint_whose_client_left_frees_the_slot(emulator: Emulator) -> None:
    # Starlette runs a sync generator in a thread pool and never closes it when the client
    # leaves: the stream's consumer limit is what frees the key's only slot.
    key = unique_key()
    llm = ChatModelsLab(
        model=LLAMA,
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=1,
        acquire_timeout=10,
        stream_consumer_timeout=1,  # the default (30 s) is checked in tests/transport
        default_headers=_scenario("trickle;delay=0.2"),
    )

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
        quick = ChatModelsLab(
            model=LLAMA, api_key=key, base_url=emulator.base_url, max_concurrent_requests=1
        )
        started = time.monotonic()
        assert quick.invoke("next").content == "You said: next"
        assert time.monotonic() - started < 3
    assert emulator.max_in_flight[fingerprint] == 1


def test_limiter_errors_are_langchain_core_errors(emulator: Emulator) -> None:
    key = unique_key()
    llm = ChatModelsLab(
        model=LLAMA,
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=1,
        acquire_timeout=0.3,
    )
    holder = ModelsLabClient(
        api_key=key,
        base_url=emulator.base_url,
        max_concurrent_requests=1,
        default_headers=_scenario("hold-headers;delay=2"),
    )
    body = build_chat_payload(LLAMA, [{"role": "user", "content": "hold"}])
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
            update={"default_headers": _scenario("trickle;delay=0.2"), "acquire_timeout": 5}
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
    down = ChatModelsLab(
        model=LLAMA,
        api_key=unique_key(),
        base_url=emulator.base_url,
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


def test_ls_max_tokens_is_the_max_tokens_sent(emulator: Emulator) -> None:
    seen = _Params()
    llm = ChatModelsLab(api_key=unique_key(), base_url=emulator.base_url, callbacks=[seen])
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
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    build = chat_models.build_chat_payload

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(chat_models, "build_chat_payload", counted)
    seen = _Params()
    llm = ChatModelsLab(api_key=unique_key(), base_url=emulator.base_url, callbacks=[seen])
    llm.invoke("Hello there")  # `ls_max_tokens` needs the body: the same one is sent
    asyncio.run(llm.ainvoke("Hi"))
    llm.invoke([("user", "Hi")], stop=["x"])  # LangChain normalizes the list: still one build
    assert len(built) == 3
    assert seen.max_tokens == [request.body["max_tokens"] for request in emulator.requests]
