"""The default max_tokens: the prompt estimate, the budget, and the one retry on a refusal."""

from __future__ import annotations

import asyncio
import doctest
import json
import logging
import math
from typing import Any

import pytest

import modelslab_transport as mt
from benchmarks.calibrate_tokens import corpora, tekken_counter
from modelslab_emulator import Emulator
from modelslab_transport import (
    MAX_TOKENS_FLOOR,
    PROMPT_MARGIN,
    REASONING_MAX_TOKENS_FLOOR,
    UNKNOWN_MODEL_MAX_TOKENS,
    AsyncModelsLabClient,
    BadRequestError,
    ContextLengthExceededError,
    ModelsLabClient,
    ServerError,
    accumulate,
    default_max_tokens,
    estimate_prompt_tokens,
    model_info,
    smaller_max_tokens,
)
from modelslab_transport.models._budget import _text_tokens
from tests.support.transport_calls import LLAMA, MAGISTRAL, chat_requests, payload, scenario

TEKKEN = tekken_counter()

KEY = "sk-budget-test-5d1e"
HI = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    "module", [mt.models._budget, mt.models._catalog, mt.models._sampling, mt._payload]
)
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# -- the estimate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        # Against Mistral's tekken tokenizer (benchmarks/calibrate_tokens.py counts them):
        # English, digits and emoji close to the real count; CJK and Cyrillic over it.
        ("The quick brown fox jumps over the lazy dog. " * 50, 1.0, 1.15),
        ("1234567890" * 30, 1.0, 1.1),
        ("\U0001f642" * 50, 1.0, 1.1),
        ("\u4f60\u597d\u4e16\u754c" * 100, 1.0, 2.2),
        ("\u041f\u0440\u0438\u0432\u0435\u0442 " * 50, 1.0, 3.5),
    ],
)
def test_estimate_is_close_to_tekken(text: str, low: float, high: float) -> None:
    real = TEKKEN(text)
    estimate = estimate_prompt_tokens([{"role": "user", "content": text}])
    assert low * real <= estimate <= high * real + 12  # 11 tokens of template per message


@pytest.mark.parametrize("name", list(corpora()))
def test_estimate_of_each_calibration_corpus_is_within_a_sixth(name: str) -> None:
    text = corpora()[name]
    assert 0.9 <= _text_tokens(text) / TEKKEN(text) <= 1.17


def test_estimate_counts_every_message_tools_and_images() -> None:
    one = estimate_prompt_tokens(HI)
    assert estimate_prompt_tokens(HI * 3) > 3 * one - 10  # per-message overhead counts
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city " * 20,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    assert estimate_prompt_tokens(HI, [tool]) >= one + TEKKEN(json.dumps(tool))
    calls = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"arguments": "x" * 300}}],
        }
    ]
    assert estimate_prompt_tokens(calls) >= 100
    # An image costs a fixed amount, not its base64 length.
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 400_000}}
    with_image = [{"role": "user", "content": [{"type": "text", "text": "Hi"}, image]}]
    assert 3_000 <= estimate_prompt_tokens(with_image) - one < 3_200


# -- the budget -----------------------------------------------------------------------------------


def _room(context: int, messages: list[dict[str, Any]]) -> int:
    return context - math.ceil(estimate_prompt_tokens(messages) * 1.03) - PROMPT_MARGIN


def test_magistral_budget_leaves_room_for_the_prompt_within_40960() -> None:
    info = model_info(MAGISTRAL)
    assert info is not None and info.context_limit == 40_960
    budget = default_max_tokens(MAGISTRAL, HI)
    assert budget == _room(40_960, HI)
    assert budget + estimate_prompt_tokens(HI) < 40_960  # never the whole served context
    long = [{"role": "user", "content": "word " * 20_000}]  # ~22k estimated tokens
    assert default_max_tokens(MAGISTRAL, long) == _room(40_960, long)


def test_budget_falls_back_to_the_whole_window_then_the_floor() -> None:
    # Over the served 40,960 but within the 131,072 window: budget against the window.
    beyond = [{"role": "user", "content": "word " * 40_000}]  # ~44k estimated
    estimate = estimate_prompt_tokens(beyond)
    assert 40_960 < estimate < 131_072
    assert default_max_tokens(MAGISTRAL, beyond) == min(40_960, _room(131_072, beyond))
    # Nothing fits: the floor (a reasoning model's), and the server decides.
    huge = [{"role": "user", "content": "word " * 130_000}]
    assert default_max_tokens(MAGISTRAL, huge) == REASONING_MAX_TOKENS_FLOOR == 2048
    assert default_max_tokens(LLAMA, huge) == MAX_TOKENS_FLOOR == 256


def test_budget_per_catalogue_model_and_unknown() -> None:
    for info in mt.MODELS:
        budget = default_max_tokens(info.id, HI)
        assert MAX_TOKENS_FLOOR <= budget <= info.max_output_tokens
        assert budget + estimate_prompt_tokens(HI) <= info.context_limit
        for alias in info.aliases:
            assert default_max_tokens(alias.upper(), HI) == budget
    assert default_max_tokens("some-provider/new-model", HI) == UNKNOWN_MODEL_MAX_TOKENS == 4096


# -- reading the limit a refusal states -----------------------------------------------------------


VLLM = (
    "This model's maximum context length is 40960 tokens. However, you requested 40990 tokens "
    "(30 in the messages, 40960 in the completion). Please reduce the length of the messages or "
    "completion."
)


@pytest.mark.parametrize(
    ("error", "sent", "expected"),
    [
        (ContextLengthExceededError(VLLM, status_code=400), 40_960, 40_960 - 30 - 16),
        (
            ContextLengthExceededError(
                "'max_tokens' or 'max_completion_tokens' is too large: 40960. This model's maximum "
                "context length is 40960 tokens and your request has 20 input tokens (40960 > "
                "40960 - 20).",
                status_code=400,
            ),
            40_960,
            40_960 - 20 - 16,
        ),
        (
            ContextLengthExceededError(
                "This model's maximum context length is 8192 tokens. However, you requested 9000 "
                "tokens.",
                status_code=200,
            ),
            8_000,
            8_192 - 1_000 - 16,
        ),
        (BadRequestError("max_tokens must be at most 32768", status_code=400), 40_960, 32_768),
        (
            BadRequestError(
                "max_tokens (40960) must be less than or equal to 16,384", status_code=422
            ),
            40_960,
            16_384,
        ),
        (
            BadRequestError(
                "max_tokens: 64000 > 32000, which is the maximum allowed number of output tokens",
                status_code=400,
            ),
            64_000,
            32_000,
        ),
        (
            BadRequestError(
                "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 32768. "
                "Given: 20 `inputs` tokens and 40960 `max_new_tokens`",
                status_code=422,
            ),
            40_960,
            32_768 - 20 - 16,
        ),
        # A size refusal that states no figure: half.
        (
            ContextLengthExceededError(
                "the request exceeds the available context size", status_code=400
            ),
            40_000,
            20_000,
        ),
        (BadRequestError("max_tokens is too large", status_code=400), 9_000, 4_500),
    ],
)
def test_smaller_max_tokens_reads_the_stated_limit(
    error: mt.ModelsLabError, sent: int, expected: int
) -> None:
    assert smaller_max_tokens(error, sent) == expected


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("temperature must be at most 2", status_code=400),  # not about size
        ServerError("max_tokens backend failed", status_code=502),  # not a refusal
        # The prompt alone overflows: no max_tokens helps.
        ContextLengthExceededError(
            "This model's maximum context length is 40960 tokens. However, you requested 42000 "
            "tokens (41000 in the messages, 1000 in the completion).",
            status_code=400,
        ),
    ],
)
def test_smaller_max_tokens_refuses_what_it_cannot_fix(error: mt.ModelsLabError) -> None:
    assert smaller_max_tokens(error, 1000) is None


# -- over loopback: the default sent, the trap, the one retry -------------------------------------


def _client(emulator: Emulator, headers: dict[str, str] | None = None) -> ModelsLabClient:
    return ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers)


def test_default_is_sent_and_magistral_answers_in_full(emulator: Emulator) -> None:
    with _client(emulator) as client:
        result = client.chat(payload("Tell me about Paris", model=MAGISTRAL))
        streamed = accumulate(client.stream_chat(payload("Tell me about Paris", model=MAGISTRAL)))
    for answer in (result, streamed):
        assert answer.first.content == "You said: Tell me about Paris"
        assert answer.first.finish_reason == "stop"
        assert "Let me check that once more." in answer.first.reasoning
    messages = [{"role": "user", "content": "Tell me about Paris"}]
    for request, answer in zip(chat_requests(emulator), (result, streamed), strict=True):
        sent = request.body["max_tokens"]
        assert sent == default_max_tokens(MAGISTRAL, messages)
        assert 1000 < sent <= 40_960 - 4  # within the served context minus the prompt (4 words)
        assert answer.max_tokens_sent == sent  # what traces record: the value sent


def test_the_trap_whole_context_as_max_tokens_fails(emulator: Emulator) -> None:
    # What the default must never do: max_tokens=40960 to a 40,960-served Magistral.
    with _client(emulator) as client:
        with pytest.raises(ContextLengthExceededError) as info:
            client.chat(payload("Hi", model=MAGISTRAL, max_tokens=40_960))
        with pytest.raises(ContextLengthExceededError):
            accumulate(client.stream_chat(payload("Hi", model=MAGISTRAL, max_tokens=40_960)))
    assert info.value.status_code == 400
    assert "40960" in info.value.message
    assert len(chat_requests(emulator)) == 2  # a caller's own value is not retried


def test_caller_max_tokens_and_max_completion_tokens_are_kept(emulator: Emulator) -> None:
    with _client(emulator) as client:
        reported = [
            client.chat(payload("Hi", max_tokens=7)).max_tokens_sent,
            client.chat(payload("Hi", max_completion_tokens=9)).max_tokens_sent,
        ]
    assert reported == [7, 9]
    first, second = chat_requests(emulator)
    assert first.body["max_tokens"] == 7
    assert second.body["max_completion_tokens"] == 9 and "max_tokens" not in second.body


def test_unknown_model_gets_the_documented_default(emulator: Emulator) -> None:
    with _client(emulator) as client, pytest.raises(mt.NotFoundError):
        client.chat(payload("Hi", model="not-in-the-catalogue"))
    [request] = chat_requests(emulator)
    assert request.body["max_tokens"] == UNKNOWN_MODEL_MAX_TOKENS


def _retried(emulator: Emulator, headers: dict[str, str], served: int) -> tuple[int, int]:
    first, second = chat_requests(emulator, headers)
    assert (first.status, second.status) == (400, 200)
    prompt = 2  # "a b", in the emulator's word tokens
    assert second.body["max_tokens"] == served - prompt - 16
    return first.body["max_tokens"], second.body["max_tokens"]


@pytest.mark.parametrize("stream", [False, True])
def test_refused_default_is_retried_once_with_the_stated_limit(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    headers = scenario("served-context", tokens=3000)
    caplog.set_level(logging.WARNING, logger="modelslab_transport")
    with _client(emulator, headers) as client:
        body = payload("a b", model=MAGISTRAL)
        result = accumulate(client.stream_chat(body)) if stream else client.chat(body)
    assert result.first.content == "You said: a b"
    sent, retried = _retried(emulator, headers, 3000)
    assert sent == default_max_tokens(MAGISTRAL, [{"role": "user", "content": "a b"}])
    assert result.max_tokens_sent == retried  # the request that produced the answer
    [record] = [r for r in caplog.records if "retrying once" in r.getMessage()]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert f"max_tokens={sent}" in message and f"max_tokens={retried}" in message
    assert KEY not in message and "maximum context length" not in message  # no body


@pytest.mark.parametrize("stream", [False, True])
def test_refused_default_is_retried_once_async(emulator: Emulator, stream: bool) -> None:
    headers = scenario("served-context", tokens=2500)

    async def run() -> mt.ChatCompletion:
        async with AsyncModelsLabClient(
            api_key=KEY, base_url=emulator.base_url, default_headers=headers
        ) as client:
            body = payload("a b", model=MAGISTRAL)
            if stream:
                events = [event async for event in client.stream_chat(body)]
                return accumulate(events)
            return await client.chat(body)

    result = asyncio.run(run())
    assert result.first.content == "You said: a b"
    assert result.max_tokens_sent == _retried(emulator, headers, 2500)[1]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_stream_answered_with_one_json_body_reports_the_max_tokens_sent(
    emulator: Emulator, asynchronous: bool
) -> None:
    # A server that ignores `stream: true` (one JSON body): its replayed events carry it too.
    headers = scenario("status-success")
    body = payload("a b", model=MAGISTRAL)

    async def astream() -> list[mt.StreamEvent]:
        async with AsyncModelsLabClient(
            api_key=KEY, base_url=emulator.base_url, default_headers=headers
        ) as client:
            return [event async for event in client.stream_chat(body)]

    if asynchronous:
        events = asyncio.run(astream())
    else:
        with _client(emulator, headers) as client:
            events = list(client.stream_chat(body))
    [request] = chat_requests(emulator, headers)
    assert request.body["stream"] is True  # answered with `{"status": "success", ...}`
    assert accumulate(events).first.content == "You said: a b"
    assert accumulate(events).max_tokens_sent == request.body["max_tokens"] > 1000


def test_only_one_retry_and_not_for_a_prompt_that_cannot_fit(emulator: Emulator) -> None:
    # The served context is smaller than the prompt: no max_tokens fits, nothing is resent.
    headers = scenario("served-context", tokens=3)
    with _client(emulator, headers) as client, pytest.raises(ContextLengthExceededError):
        client.chat(payload("a b c d", model=LLAMA))
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("shape", ["", ", openai-error", ", legacy-messege"])
@pytest.mark.parametrize(
    ("message", "expected"),
    [("max_tokens must be at most 2000", 2000), ("max_tokens is too large", 16_384 // 2)],
)
@pytest.mark.parametrize("stream", [False, True])
def test_retry_reads_every_error_shape(
    emulator: Emulator, shape: str, message: str, expected: int, stream: bool
) -> None:
    # ModelsLab's {"status":"error"}, OpenAI's {"error":{...}}, the legacy "messege": one
    # refusal of the default's size, then the retry with the stated (or halved) limit.
    headers = {
        "X-Emulator-Scenario": f"{scenario('http-error')['X-Emulator-Scenario']};"
        f"status=400;message={message};times=1{shape}"
    }
    with _client(emulator, headers) as client:
        body = payload("a b", model=LLAMA)
        result = accumulate(client.stream_chat(body)) if stream else client.chat(body)
    assert result.first.content == "You said: a b"
    first, second = chat_requests(emulator, headers)
    assert (first.status, second.status) == (400, 200)
    assert first.body["max_tokens"] == 16_384 and second.body["max_tokens"] == expected
