"""The served context a host states is learned per (base URL, model): one refusal, not one per
call; and a long RAG prompt gets room to reason on 40,000- and 40,960-token hosts."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    ContextLengthExceededError,
    ModelsLabClient,
    accumulate,
    build_chat_payload,
    default_max_tokens,
    forget_host_limits,
    host_limits,
    resized_payload,
)
from modelslab_transport.models._host_limits import learn_host_limits
from tests.support.long_prompts import RAG_QUESTION, emulator_context, rag_prompt, tekken
from tests.support.transport_calls import MAGISTRAL, chat_requests, payload, scenario

KEY = "sk-host-limits-test-77aa"
URL = "https://modelslab.com/api/v7/llm"
NEW_WORDING = (
    "'max_tokens' or 'max_completion_tokens' is too large: 40435. This model's maximum context "
    "length is 40000 tokens and your request has 2000 input tokens (40435 > 40000 - 2000). "
    "(parameter=max_tokens, value=40435)"
)


def _client(emulator: Emulator, headers: dict[str, str]) -> ModelsLabClient:
    return ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers)


def test_the_new_vllm_wording_teaches_the_served_context_and_the_count_ratio() -> None:
    body = payload("word " * 2_000, model=MAGISTRAL, max_tokens=40_435)
    error = ContextLengthExceededError(NEW_WORDING, status_code=400)
    retried = resized_payload(error, body, URL)
    assert retried["max_tokens"] == 40_000 - 2_000 - 16
    learned = host_limits(URL, MAGISTRAL)
    assert learned.served_context == 40_000
    assert 0.85 < learned.prompt_ratio < 0.95  # 2,000 counted for our ~2,200
    # Later defaults fit at once, for this host and model only.
    messages = body["messages"]
    assert default_max_tokens(MAGISTRAL, messages, base_url=URL + "/") + 2_000 < 40_000
    assert default_max_tokens(MAGISTRAL, messages, base_url="http://other") > 38_000 - 2_000
    assert host_limits(URL, "mistralai-mistral-small-3.1-24b-instruct").served_context is None
    forget_host_limits()
    assert host_limits(URL, MAGISTRAL).served_context is None


def test_learning_is_thread_safe_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="modelslab_transport")
    url = "https://user:secret@modelslab.example/api/v7/llm?key=sk-in-url"

    def learn() -> None:
        for _ in range(50):
            learn_host_limits(url, MAGISTRAL, served_context=40_000, counted=None, estimate=10)

    threads = [threading.Thread(target=learn) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert host_limits(url, MAGISTRAL).served_context == 40_000
    [record] = [r for r in caplog.records if "context" in r.getMessage()]
    message = record.getMessage()
    assert "https://modelslab.example:" not in message and "40000-token context" in message
    assert "secret" not in message and "sk-in-url" not in message and "user" not in message


@pytest.mark.parametrize("stream", [False, True])
def test_three_calls_on_a_40000_host_cost_one_refusal(emulator: Emulator, stream: bool) -> None:
    headers = scenario("served-context", tokens=40_000)
    with _client(emulator, headers) as client:
        for text in ("Tell me about Paris", "And Rome?", "And Madrid?"):
            body = payload(text, model=MAGISTRAL)
            answer = accumulate(client.stream_chat(body)) if stream else client.chat(body)
            assert answer.first.content == f"You said: {text}"
            assert answer.first.finish_reason == "stop"
    statuses = [request.status for request in chat_requests(emulator, headers)]
    assert statuses == [400, 200, 200, 200]


def test_three_async_calls_on_a_40000_host_cost_one_refusal(emulator: Emulator) -> None:
    headers = scenario("served-context", tokens=40_000)

    async def run() -> None:
        async with AsyncModelsLabClient(
            api_key=KEY, base_url=emulator.base_url, default_headers=headers
        ) as client:
            await client.chat(payload("one", model=MAGISTRAL))
            await client.chat(payload("two", model=MAGISTRAL))
            accumulate(
                [event async for event in client.stream_chat(payload("three", model=MAGISTRAL))]
            )

    asyncio.run(run())
    assert [r.status for r in chat_requests(emulator, headers)] == [400, 200, 200, 200]


def test_a_callers_max_tokens_is_never_changed_by_what_was_learned(emulator: Emulator) -> None:
    learn_host_limits(emulator.base_url, MAGISTRAL, served_context=2_000, counted=None, estimate=0)
    with _client(emulator, {}) as client:
        client.chat(payload("Hi", model=MAGISTRAL, max_tokens=3_000))
        client.chat(payload("Hi", model=MAGISTRAL))
    mine, default = chat_requests(emulator)
    assert mine.body["max_tokens"] == 3_000
    assert default.body["max_tokens"] == 2_048  # the learned 2,000 leaves only the floor


@pytest.mark.parametrize("host", [40_000, 40_960])
@pytest.mark.parametrize("stream", [False, True])
def test_a_30000_token_rag_prompt_is_answered_with_room_to_reason(
    emulator: Emulator, host: int, stream: bool
) -> None:
    system, user = rag_prompt(30_000)
    assert 30_000 <= tekken()(system) + tekken()(user) < 31_000
    headers = scenario("served-context", tokens=emulator_context(host, system, user))
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    with _client(emulator, headers) as client:
        body = build_chat_payload(MAGISTRAL, messages)
        answer = accumulate(client.stream_chat(body)) if stream else client.chat(body)
    assert answer.first.finish_reason == "stop"
    assert answer.first.content == f"You said: {RAG_QUESTION}"
    assert "Let me check that once more." in answer.first.reasoning  # it reasoned in full
    [request] = chat_requests(emulator, headers)  # no refusal, no retry
    assert request.body["max_tokens"] >= 3_000
