"""ModelsLabLLM chat, completion and streaming over real sockets against the emulator."""

from __future__ import annotations

import asyncio
import threading
import uuid

import httpx
import pytest
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ThinkingBlock
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.llms.function_calling import FunctionCallingLLM

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import (
    InvalidInputError,
    MissingAPIKeyError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from tests.support.models import KEY, PLAIN_MODEL, MakeLLM
from tests.support.scenarios import unique

USER = [ChatMessage(role=MessageRole.USER, content="Tell me about Paris")]
ANSWER = "You said: Tell me about Paris"
# The emulator's Magistral thinks 1,209 tokens: past the API's 1000-token default, so these
# whole thoughts (and answers) also show that the catalogue's max_tokens default was sent.
THOUGHT = "The user wrote 4 words. I will answer plainly. " + " ".join(
    ["Let me check that once more."] * 200
)
USAGE_KEYS = {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_is_a_llama_index_function_calling_llm() -> None:
    names = [cls.__name__ for cls in ModelsLabLLM.__mro__]
    assert BaseLLM.__name__ in names
    assert issubclass(ModelsLabLLM, FunctionCallingLLM)
    assert ModelsLabLLM.class_name() == "ModelsLabLLM"


def test_metadata(make_llm: MakeLLM) -> None:
    meta = make_llm().metadata
    assert meta.context_window == 40_960
    assert meta.is_chat_model
    assert meta.is_function_calling_model
    assert meta.model_name == "mistralai-Magistral-Small-2506"
    assert make_llm(max_tokens=512).metadata.num_output == 512
    # Unset: half the served context is kept for the answer when LlamaIndex packs prompts.
    assert meta.num_output == 20_480
    llama = make_llm(model="meta-llama-llama-3.1-8b-instruct").metadata
    assert (llama.context_window, llama.num_output) == (131_072, 16_384)
    assert (
        make_llm(model="deepseek-deepseek-r1-distill-llama-70b").metadata.is_function_calling_model
        is False
    )
    unknown = make_llm(model="not-in-the-catalogue").metadata
    assert (unknown.context_window, unknown.num_output) == (32_768, 4096)
    assert make_llm(context_window=1000).metadata.context_window == 1000


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", KEY)
    monkeypatch.setenv("MODELSLAB_BASE_URL", base_url)
    llm = ModelsLabLLM()
    assert llm.base_url == base_url
    assert llm.complete("hi there").text == "You said: hi there"
    monkeypatch.delenv("MODELSLAB_API_KEY")
    with pytest.raises(MissingAPIKeyError, match="MODELSLAB_API_KEY"):
        ModelsLabLLM()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 3}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests"),
        ({"timeout": 0}, "timeout"),
        ({"model": ""}, "model"),
        ({"base_url": "http://example.com/api"}, "plain http"),
        ({"base_url": "not a url"}, "base_url"),
        ({"default_headers": {"Authorization": "Bearer x"}}, "credentials"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, object], match: str) -> None:
    kwargs.setdefault("api_key", KEY)
    with pytest.raises(ValueError, match=match):
        ModelsLabLLM(**kwargs)  # type: ignore[arg-type]


def test_bad_call_parameters_fail_before_sending(llm: ModelsLabLLM, emulator: Emulator) -> None:
    with pytest.raises(InvalidInputError, match="stop"):
        llm.chat(USER, stop=["a", "b", "c", "d", "e"])
    with pytest.raises(InvalidInputError, match="messages is empty"):
        llm.chat([])
    assert emulator.requests == []


def test_chat_keeps_thinking_out_of_content(llm: ModelsLabLLM, emulator: Emulator) -> None:
    response = llm.chat(USER)
    assert response.message.content == ANSWER
    thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert [b.content for b in thinking] == [THOUGHT]
    assert "<think>" not in (response.message.content or "")
    assert response.additional_kwargs.keys() >= USAGE_KEYS
    assert response.raw["usage"]["total_tokens"] == response.additional_kwargs["total_tokens"]
    (request,) = emulator.requests
    assert request.body["model_id"] == "mistralai-Magistral-Small-2506"
    assert request.body["stream"] is False


@pytest.mark.parametrize("scenario", [None, "reasoning-field", "content-blocks", "think-split"])
def test_stream_chat_last_response_is_the_whole_answer(
    make_llm: MakeLLM, scenario: str | None
) -> None:
    responses = list(make_llm(scenario=scenario).stream_chat(USER))
    final = responses[-1]
    assert final.message.content == ANSWER
    assert "".join(r.delta or "" for r in responses) == ANSWER
    thinking = "".join(r.additional_kwargs.get("thinking_delta", "") for r in responses)
    assert thinking.strip() == THOUGHT
    for response in responses:
        assert "user wrote" not in (response.delta or "")
        assert "user wrote" not in (response.message.content or "")
    kinds = [type(b) for b in final.message.blocks]
    assert kinds == [ThinkingBlock, TextBlock]  # no duplicated blocks
    assert final.additional_kwargs.keys() >= USAGE_KEYS
    assert final.raw["usage"]["completion_tokens"] == final.additional_kwargs["completion_tokens"]


def test_stream_without_usage(make_llm: MakeLLM) -> None:
    final = list(make_llm(scenario="no-usage").stream_chat(USER))[-1]
    assert final.message.content == ANSWER
    assert "usage" not in final.raw
    assert not USAGE_KEYS & final.additional_kwargs.keys()


def test_complete_keeps_thinking_in_additional_kwargs(llm: ModelsLabLLM) -> None:
    response = llm.complete("Tell me about Paris")
    assert response.text == ANSWER
    assert response.additional_kwargs["thinking"] == THOUGHT
    assert response.additional_kwargs.keys() >= USAGE_KEYS
    streamed = list(llm.stream_complete("Tell me about Paris"))
    assert "".join(r.delta or "" for r in streamed) == streamed[-1].text == ANSWER
    assert "".join(r.additional_kwargs.get("thinking_delta", "") for r in streamed) == THOUGHT
    assert streamed[-1].additional_kwargs["thinking"] == THOUGHT
    assert streamed[-1].additional_kwargs.keys() >= USAGE_KEYS


def test_plain_model_has_no_thinking(make_llm: MakeLLM) -> None:
    response = make_llm(model=PLAIN_MODEL).chat(USER)
    assert response.message.content == ANSWER
    assert not any(isinstance(b, ThinkingBlock) for b in response.message.blocks)


def test_parameters_reach_the_wire(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make_llm(temperature=0.7, top_p=0.95, max_tokens=3, additional_kwargs={"seed": 7})
    response = llm.chat(USER, top_k=40)
    body = emulator.requests[0].body
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.7, 0.95, 3)
    assert (body["seed"], body["top_k"]) == (7, 40)
    assert "tool_choice" not in body
    assert "tools" not in body
    assert response.raw["choices"][0]["finish_reason"] == "length"
    cut = make_llm(model=PLAIN_MODEL).complete("alpha beta gamma", stop=["beta"])
    assert cut.text.strip() == "You said: alpha"


async def test_async_chat_stream_and_complete(llm: ModelsLabLLM) -> None:
    response = await llm.achat(USER)
    assert response.message.content == ANSWER
    stream = await llm.astream_chat(USER)
    responses = [r async for r in stream]
    assert "".join(r.delta or "" for r in responses) == responses[-1].message.content == ANSWER
    assert responses[-1].additional_kwargs.keys() >= USAGE_KEYS
    completion = await llm.acomplete("Tell me about Paris")
    assert completion.text == ANSWER
    assert completion.additional_kwargs["thinking"] == THOUGHT
    chunks = [c async for c in await llm.astream_complete("Tell me about Paris")]
    assert chunks[-1].text == ANSWER
    assert chunks[-1].additional_kwargs["thinking"] == THOUGHT


def test_async_client_survives_several_event_loops(llm: ModelsLabLLM) -> None:
    for _ in range(2):
        assert asyncio.run(llm.acomplete("again")).text == "You said: again"


def test_typed_errors(make_llm: MakeLLM) -> None:
    with pytest.raises(NotFoundError, match="no-such-model"):
        make_llm(model="no-such-model").chat(USER)
    with pytest.raises(ServerError):
        make_llm(scenario="error-200", max_retries=0).chat(USER)
    with pytest.raises(ServerError):
        list(make_llm(scenario="error-mid-stream").stream_chat(USER))


async def test_typed_errors_async(make_llm: MakeLLM) -> None:
    with pytest.raises(NotFoundError):
        await make_llm(model="no-such-model").achat(USER)
    with pytest.raises(ServerError):
        async for _ in await make_llm(scenario="error-mid-stream").astream_chat(USER):
            pass


def test_one_retry_layer(make_llm: MakeLLM, emulator: Emulator) -> None:
    scenario = unique("rate-limit;times=2;retry_after=0.05")
    assert make_llm(scenario=scenario, max_retries=2).chat(USER).message.content == ANSWER
    assert [r.status for r in emulator.requests] == [429, 429, 200]
    emulator.clear()
    scenario = unique("rate-limit;times=1;retry_after=0.05")
    with pytest.raises(RateLimitError) as info:
        make_llm(scenario=scenario, max_retries=0, queue_wait_budget=0).chat(USER)
    assert info.value.status_code == 429
    assert len(emulator.requests) == 1


def test_stream_retries_before_first_event(make_llm: MakeLLM, emulator: Emulator) -> None:
    scenario = unique("server-error;times=1")
    responses = list(make_llm(scenario=scenario).stream_chat(USER))
    assert responses[-1].message.content == ANSWER
    assert [r.status for r in emulator.requests] == [500, 200]


async def test_max_concurrent_requests_limits_in_flight(
    make_llm: MakeLLM, emulator: Emulator
) -> None:
    key = f"test-key-{uuid.uuid4().hex}"  # the limit is shared per key, process-wide
    llm = make_llm(api_key=key, max_concurrent_requests=2, scenario="slow-first-byte;delay=0.1")
    answers = await asyncio.gather(*(llm.acomplete(f"job {i}") for i in range(6)))
    assert sorted(a.text for a in answers) == sorted(f"You said: job {i}" for i in range(6))
    assert emulator.max_in_flight[Emulator.fingerprint(key)] == 2


def test_chat_history_is_not_modified(llm: ModelsLabLLM) -> None:
    history = [ChatMessage(role=MessageRole.USER, content="first")]
    snapshot = [m.model_dump() for m in history]
    llm.chat(history)
    list(llm.stream_chat(history))
    assert [m.model_dump() for m in history] == snapshot


def test_tool_choice_without_tools_is_never_sent(llm: ModelsLabLLM, emulator: Emulator) -> None:
    llm.chat(USER, tool_choice="auto", parallel_tool_calls=True)
    body = emulator.requests[-1].body
    assert "tool_choice" not in body
    assert "parallel_tool_calls" not in body
    # A forced choice without tools is a caller's bug: refused before sending (issue 11: it
    # was dropped silently here, while LangChain refused it).
    with pytest.raises(InvalidInputError, match="tool_choice 'required' was given without any"):
        llm.chat(USER, tool_choice="required")
    assert len(emulator.requests) == 1


async def test_injected_http_clients_are_used_and_left_open(make_llm: MakeLLM) -> None:
    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async def ahook(request: httpx.Request) -> None:
        seen.append("async " + request.url.path)

    with httpx.Client(event_hooks={"request": [hook]}) as http:
        async with httpx.AsyncClient(event_hooks={"request": [ahook]}) as ahttp:
            llm = make_llm(http_client=http, async_http_client=ahttp)
            assert llm.complete("one").text == "You said: one"
            assert (await llm.acomplete("two")).text == "You said: two"
            await llm.aclose()
            assert not http.is_closed
            assert not ahttp.is_closed
    assert seen == ["/api/v7/llm/chat/completions", "async /api/v7/llm/chat/completions"]


def test_token_counting_handler_reads_reported_usage(make_llm: MakeLLM) -> None:
    counter = TokenCountingHandler()
    llm = make_llm(callback_manager=CallbackManager([counter]))
    response = llm.chat(USER)
    streamed = list(llm.stream_chat(USER))[-1]
    expected = (
        response.additional_kwargs["prompt_tokens"] + streamed.additional_kwargs["prompt_tokens"]
    )
    assert counter.prompt_llm_token_count == expected
    assert counter.completion_llm_token_count == (
        response.additional_kwargs["completion_tokens"]
        + streamed.additional_kwargs["completion_tokens"]
    )


def test_breaking_out_of_stream_complete_frees_the_slot(make_llm: MakeLLM) -> None:
    # One slot for this key: a stream dropped half-read must give it back, or the next call
    # waits forever.
    llm = make_llm(api_key=f"test-key-slot-{uuid.uuid4().hex}", max_concurrent_requests=1)
    responses = llm.stream_complete("hello there my friend")
    for _ in responses:
        break
    del responses
    answers: list[str] = []
    thread = threading.Thread(target=lambda: answers.append(llm.complete("next").text), daemon=True)
    thread.start()
    thread.join(timeout=5)
    assert answers == ["You said: next"]
