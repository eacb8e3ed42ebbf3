"""The body `build_chat_payload` builds for a host is the body sent: `max_tokens` filled and
`stream` decided in the build; the client fills only what reaches it without a limit, and
resizes only the default it can read from the payload."""

from __future__ import annotations

from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    ContextLengthExceededError,
    ModelsLabClient,
    build_chat_payload,
    default_max_tokens,
    max_tokens_sent,
    resized_payload,
)
from modelslab_transport._payload import for_call
from modelslab_transport.models import ChatPayload, learn_host_limits
from tests.support.transport_calls import (
    LLAMA,
    MAGISTRAL,
    chat_requests,
    completion_in_mode,
    scenario,
)

KEY = "sk-built-is-sent-31c7"
HI = [{"role": "user", "content": "Hi"}]
MODES = {False: "chat", True: "stream"}
ASYNC_MODES = {False: "achat", True: "astream"}


def _client(emulator: Emulator, headers: dict[str, str]) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emulator.base_url, "default_headers": headers}


def _sent(request: Any) -> dict[str, Any]:
    return {name: value for name, value in request.body.items() if name != "key"}


@pytest.mark.parametrize("stream", [False, True])
def test_a_payload_built_for_the_host_is_sent_byte_for_byte(
    emulator: Emulator, stream: bool
) -> None:
    body = build_chat_payload(MAGISTRAL, HI, stream=stream, base_url=emulator.base_url)
    assert body["max_tokens"] == default_max_tokens(MAGISTRAL, HI) and body["stream"] is stream
    assert body.max_tokens_defaulted
    assert for_call(body, stream=stream, base_url=emulator.base_url) is body  # decided once
    answer = completion_in_mode(MODES[stream], body, api_key=KEY, base_url=emulator.base_url)
    [request] = chat_requests(emulator)
    assert _sent(request) == body
    assert answer.max_tokens_sent == body["max_tokens"] == max_tokens_sent(body, emulator.base_url)


def test_what_a_host_stated_sizes_the_built_body(emulator: Emulator) -> None:
    learn_host_limits(emulator.base_url, MAGISTRAL, served_context=3_000, counted=None, estimate=0)
    built = build_chat_payload(MAGISTRAL, HI, base_url=emulator.base_url)
    elsewhere = build_chat_payload(MAGISTRAL, HI, base_url="https://other.example/api/v7/llm")
    assert built["max_tokens"] == default_max_tokens(MAGISTRAL, HI, base_url=emulator.base_url)
    assert built["max_tokens"] < 3_000 < elsewhere["max_tokens"]


def test_without_base_url_the_build_leaves_the_limit_to_the_client(emulator: Emulator) -> None:
    body = build_chat_payload(LLAMA, HI)
    assert "max_tokens" not in body and not body.max_tokens_defaulted
    hand_built = {"model_id": LLAMA, "messages": HI}
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url) as client:
        client.chat(body)
        list(client.stream_chat(hand_built))
    built, streamed = chat_requests(emulator)
    assert built.body["max_tokens"] == streamed.body["max_tokens"] == 16_384
    assert streamed.body["stream"] is True
    assert streamed.body["stream_options"] == {"include_usage": True}
    assert "max_tokens" not in body and "max_tokens" not in hand_built  # the caller's untouched


@pytest.mark.parametrize("stream", [False, True])
def test_a_limit_changed_after_the_build_is_the_callers_and_never_resized(
    emulator: Emulator, stream: bool
) -> None:
    headers = scenario("served-context", tokens=3_000)
    body = build_chat_payload(MAGISTRAL, HI, stream=stream, base_url=emulator.base_url)
    body["max_tokens"] = 40_960
    assert not body.max_tokens_defaulted
    with pytest.raises(ContextLengthExceededError):
        completion_in_mode(MODES[stream], body, **_client(emulator, headers))
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_a_built_default_refused_is_resized_once_async(emulator: Emulator, stream: bool) -> None:
    headers = scenario("served-context", tokens=2_500)
    body = build_chat_payload(MAGISTRAL, HI, stream=stream, base_url=emulator.base_url)
    answer = completion_in_mode(ASYNC_MODES[stream], body, **_client(emulator, headers))
    first, second = chat_requests(emulator, headers)
    assert (first.status, second.status) == (400, 200)
    assert first.body["max_tokens"] == body["max_tokens"]
    assert answer.max_tokens_sent == second.body["max_tokens"] < body["max_tokens"]


def test_a_resized_payload_is_not_resized_again() -> None:
    body = build_chat_payload(MAGISTRAL, HI, base_url="https://modelslab.com/api/v7/llm")
    error = ContextLengthExceededError("max_tokens must be at most 2000", status_code=400)
    smaller = resized_payload(error, body)
    assert isinstance(smaller, ChatPayload) and smaller["max_tokens"] == 2_000
    assert not smaller.max_tokens_defaulted
