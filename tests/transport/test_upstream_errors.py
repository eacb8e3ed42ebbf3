"""What the real service and its upstreams do that passes for success unless handled: mid-stream
errors (with the partial text kept), non-JSON 200s, cut lines, count_tokens without a count,
OpenRouter's 429 hints, the `status: success` shape, x-api-key and the documented ranges."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    BadGatewayError,
    IncompleteStreamError,
    InvalidInputError,
    ModelsLabClient,
    ModelsLabError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    build_chat_payload,
)
from tests.support.transport_calls import LLAMA, chat_requests, scenario, text_in_mode
from tests.support.upstream_cases import ANSWER, OUT_OF_RANGE, TEXT

KEY = "sk-upstream-7c41aa"
RUNNERS = ["chat", "stream", "achat", "astream"]
STREAMS = ["stream", "astream"]


def run(mode: str, emulator: Emulator, headers: dict[str, str], **options: Any) -> str:
    """One call in `mode`; the answer text."""
    return text_in_mode(mode, emulator, TEXT, api_key=KEY, default_headers=headers, **options)


def fails(mode: str, emulator: Emulator, headers: dict[str, str], **options: Any) -> Any:
    with pytest.raises(ModelsLabError) as info:
        run(mode, emulator, headers, **options)
    assert KEY not in str(info.value) and KEY not in repr(vars(info.value))
    return info.value


# -- errors inside a stream: typed, with the partial text ------------------------------------


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("finish-error", {}),
        ("object-error-mid-stream", {"done": 1}),
        ("object-error-mid-stream", {"done": 0}),
        ("object-error-mid-stream", {"code": 400}),
        ("openrouter-error-mid-stream", {}),
    ],
)
def test_mid_stream_error_is_a_server_error_with_the_partial_text(
    mode: str, name: str, params: dict[str, Any], emulator: Emulator
) -> None:
    error = fails(mode, emulator, scenario(name, after=3, **params))
    assert isinstance(error, ServerError)
    # Three content chunks (word tokens) arrived before the error: kept, never an answer.
    assert error.partial_text == "You said: one "
    assert error.partial_text != ANSWER
    if name == "openrouter-error-mid-stream":
        assert "Provider disconnected unexpectedly" in error.message


@pytest.mark.parametrize("mode", ["chat", "achat"])
def test_whole_answer_with_finish_error_is_a_server_error(mode: str, emulator: Emulator) -> None:
    error = fails(mode, emulator, scenario("finish-error"))
    assert isinstance(error, ServerError)
    assert error.partial_text == ANSWER  # what the message held, not returned as an answer


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("abort", [0, 1])
def test_stream_cut_inside_a_data_line_is_incomplete(
    mode: str, abort: int, emulator: Emulator
) -> None:
    error = fails(mode, emulator, scenario("cut-mid-line", after=2, abort=abort))
    assert isinstance(error, IncompleteStreamError)
    assert "non-JSON" not in str(error)
    assert error.partial_text == "You said: "


# -- non-JSON 200: a gateway failure, retried like a 502 -------------------------------------


@pytest.mark.parametrize("mode", RUNNERS)
def test_non_json_200_is_retried(mode: str, emulator: Emulator) -> None:
    headers = scenario("non-json-200")
    assert run(mode, emulator, headers) == ANSWER
    assert [r.status for r in chat_requests(emulator, headers)] == [200, 200]


@pytest.mark.parametrize("mode", RUNNERS)
def test_non_json_200_that_persists_is_a_bad_gateway_server_error(
    mode: str, emulator: Emulator
) -> None:
    headers = scenario("non-json-200", times=-1)
    error = fails(mode, emulator, headers, max_retries=1)
    assert isinstance(error, BadGatewayError) and isinstance(error, ServerError)
    assert "not JSON" in error.message
    assert len(chat_requests(emulator, headers)) == 2


@pytest.mark.parametrize("mode", ["chat", "achat"])
def test_blank_lines_before_the_json_body_parse(mode: str, emulator: Emulator) -> None:
    headers = scenario("blank-lines-200")
    assert run(mode, emulator, headers) == ANSWER
    assert len(chat_requests(emulator, headers)) == 1


# -- other shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", RUNNERS)
def test_status_success_message_is_an_answer(mode: str, emulator: Emulator) -> None:
    assert run(mode, emulator, scenario("status-success")) == ANSWER


def test_count_tokens_without_input_tokens_is_typed(emulator: Emulator) -> None:
    headers = scenario("count-tokens-missing")
    messages = [{"role": "user", "content": TEXT}]
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers) as c:
        with pytest.raises(UnexpectedResponseError, match="token_count"):
            c.count_tokens(LLAMA, messages)

    async def go() -> None:
        async with AsyncModelsLabClient(
            api_key=KEY, base_url=emulator.base_url, default_headers=headers
        ) as client:
            with pytest.raises(UnexpectedResponseError):
                await client.count_tokens(LLAMA, messages)

    asyncio.run(go())


@pytest.mark.parametrize("mode", RUNNERS)
@pytest.mark.parametrize("code_str", [0, 1])
def test_openrouter_429_metadata_headers_are_honoured(
    mode: str, code_str: int, emulator: Emulator
) -> None:
    headers = scenario("openrouter-429", reset=0.6, code_str=code_str)
    assert run(mode, emulator, headers) == ANSWER
    first, second = chat_requests(emulator, headers)
    assert (first.status, second.status) == (429, 200)
    # X-RateLimit-Reset (epoch ms, inside the body) was waited for, not the 0.5 s backoff.
    assert second.received_at - first.received_at >= 0.45


def test_openrouter_429_hint_is_on_the_error(emulator: Emulator) -> None:
    headers = scenario("openrouter-429", reset=5, times=-1)
    error = fails("chat", emulator, headers, max_retries=0)
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None and 3.5 < error.retry_after <= 5.0
    # A hint longer than max_retry_wait is not waited for: raised at once.
    started = time.monotonic()
    fails("chat", emulator, headers, max_retries=2, max_retry_wait=1.0)
    assert time.monotonic() - started < 1.0


# -- auth and documented ranges ---------------------------------------------------------------


def test_x_api_key_is_sent_on_the_v1_endpoints(emulator: Emulator) -> None:
    headers = scenario("require-x-api-key")
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers) as c:
        assert c.list_models()
        assert c.count_tokens(LLAMA, [{"role": "user", "content": TEXT}]) > 0
    logged = {r.path.rsplit("/llm", 1)[-1]: r.headers for r in emulator.requests}
    for path in ("/v1/models", "/v1/messages/count_tokens"):
        assert logged[path]["x-api-key"] == "[REDACTED]"
        assert logged[path]["authorization"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("params", "documented"), [*OUT_OF_RANGE, ({"top_k": 2.5}, "whole number")]
)
def test_out_of_range_values_are_refused_before_sending(
    params: dict[str, Any], documented: str
) -> None:
    with pytest.raises(InvalidInputError, match=documented):
        build_chat_payload(LLAMA, [{"role": "user", "content": "hi"}], **params)


def test_documented_bounds_are_accepted() -> None:
    body = build_chat_payload(
        LLAMA, [{"role": "user", "content": "hi"}], top_k=1, repetition_penalty=0.1
    )
    assert (body["top_k"], body["repetition_penalty"]) == (1, 0.1)
    build_chat_payload(LLAMA, [{"role": "user", "content": "hi"}], repetition_penalty=2)


def test_developer_role_is_refused_with_a_pointer_to_system() -> None:
    with pytest.raises(InvalidInputError, match="'system'"):
        build_chat_payload(LLAMA, [{"role": "developer", "content": "Be brief."}])


def test_a_rate_limit_wrapped_in_http_200_is_retried_after_its_hint() -> None:
    from modelslab_transport import ClientSettings
    from modelslab_transport._retry import retry_delay  # the policy itself, unit-tested

    settings = ClientSettings.from_kwargs(api_key="sk-x", max_retries=2, max_retry_wait=60)
    wrapped = RateLimitError("Rate limit exceeded", status_code=200, retry_after=0.25)
    assert retry_delay(wrapped, 0, settings) == 0.25
    in_stream = RateLimitError("Rate limit exceeded", status_code=None, retry_after=0.5)
    assert retry_delay(in_stream, 0, settings) == 0.5
    refused = RateLimitError("Rate limit exceeded", status_code=429, retry_after=0.25)
    refused.should_retry = False  # the server's x-should-retry: false
    assert retry_delay(refused, 0, settings) is None


def test_count_tokens_body_reading() -> None:
    from modelslab_transport.models import input_tokens_from_body

    assert input_tokens_from_body({"input_tokens": 15}) == 15
    assert input_tokens_from_body({"input_tokens": "15"}) == 15
    for body in ({}, {"input_tokens": None}, {"input_tokens": -1}, {"input_tokens": True}, [15]):
        with pytest.raises(UnexpectedResponseError):
            input_tokens_from_body(body)
