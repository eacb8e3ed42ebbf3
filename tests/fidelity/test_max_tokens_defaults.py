"""Both adapters' defaults from the catalogue: a max_tokens that leaves room for the whole
answer, its one retry when the host refuses it, and each model card's sampling."""

from __future__ import annotations

import logging

import pytest

import modelslab_transport as mt
from modelslab_emulator import Emulator
from modelslab_transport import UNKNOWN_MODEL_MAX_TOKENS, default_max_tokens
from tests.support.emulator_log import chat_log
from tests.support.models import PLAIN_MODEL

from .sides import MODES, Side
from .turns import user

KEY = "test-key-max-tokens-0123"
MAGISTRAL = "mistralai-Magistral-Small-2506"
PROMPT = "Tell me about Paris"
ANSWER = f"You said: {PROMPT}"


def test_done_when_a_call_without_max_tokens_returns_the_answer(
    side: Side, monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    # The check, word for word: settings from the environment, no max_tokens.
    monkeypatch.setenv("MODELSLAB_API_KEY", KEY)
    monkeypatch.setenv("MODELSLAB_BASE_URL", emulator.base_url)
    reply = side.ask(side.cls(), "sync", side.messages([user(PROMPT)]))
    assert reply.text == ANSWER
    assert reply.finish == "stop"


@pytest.mark.parametrize("mode", MODES)
def test_no_max_tokens_gets_the_whole_answer_within_the_served_context(
    side: Side, emulator: Emulator, mode: str
) -> None:
    reply = side.ask(side.model(api_key=KEY), mode, side.messages([user(PROMPT)]))
    assert reply.text == ANSWER
    assert "Let me check that once more." in reply.reasoning
    [request] = chat_log(emulator)
    sent = request.body["max_tokens"]
    assert sent == default_max_tokens(MAGISTRAL, [{"role": "user", "content": PROMPT}])
    assert reply.prompt_tokens is not None
    assert 1000 < sent <= 40_960 - reply.prompt_tokens  # room for the prompt, and more than 1000
    assert (request.body["temperature"], request.body["top_p"]) == (0.7, 0.95)  # Magistral's card


def test_the_server_default_would_have_cut_the_answer(side: Side) -> None:
    # What the default saves us from: 1000 tokens (the API's default) ends inside the thought.
    cut = side.ask(side.model(api_key=KEY, max_tokens=1000), "sync", side.messages([user(PROMPT)]))
    assert cut.text == ""
    assert cut.finish == "length"


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_the_whole_context_as_max_tokens_is_refused_typed(
    side: Side, emulator: Emulator, mode: str
) -> None:
    # The trap: max_tokens=40960 on a 40,960-served Magistral; a caller's value is not retried.
    model = side.model(api_key=KEY, max_tokens=40_960)
    with pytest.raises(side.overflow) as info:
        side.ask(model, mode, side.messages([user(PROMPT)]))
    assert isinstance(info.value, mt.ContextLengthExceededError)
    assert "maximum context length is 40960" in info.value.message
    assert "maximum context length is 40960" in str(info.value)
    assert len(chat_log(emulator)) == 1


def test_unknown_model_gets_the_documented_default(side: Side, emulator: Emulator) -> None:
    model = side.model(api_key=KEY, model="not-in-the-catalogue")
    with pytest.raises(mt.NotFoundError, match="Model not found"):
        side.ask(model, "sync", side.messages([user(PROMPT)]))
    [request] = chat_log(emulator)
    assert request.body["max_tokens"] == UNKNOWN_MODEL_MAX_TOKENS == 4096
    assert "temperature" not in request.body  # no card, no sampling defaults


@pytest.mark.parametrize("mode", MODES)
def test_refused_default_is_retried_once_with_the_stated_limit(
    side: Side, emulator: Emulator, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.WARNING, logger="modelslab_transport")
    model = side.model("served-context;tokens=3000", api_key=KEY)
    assert side.ask(model, mode, side.messages([user(PROMPT)])).text == ANSWER
    first, second = chat_log(emulator)
    assert (first.status, second.status) == (400, 200)
    assert second.body["max_tokens"] == 3000 - 4 - 16  # served - prompt (4 words) - margin
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"max_tokens={second.body['max_tokens']}" in w for w in warnings)
    assert all(KEY not in w for w in warnings)


def test_sampling_defaults_come_from_each_models_card(side: Side, emulator: Emulator) -> None:
    for fields in (
        {"model": "deepseek-deepseek-r1-distill-llama-70b"},
        {"model": PLAIN_MODEL},
        {"temperature": 0.2},  # the caller's field wins, the rest stay
    ):
        side.ask(side.model(api_key=KEY, **fields), "sync", side.messages([user(PROMPT)]))
    deepseek, llama, magistral = (r.body for r in chat_log(emulator))
    assert (deepseek["temperature"], deepseek["top_p"]) == (0.6, 0.95)
    assert (llama["temperature"], llama["top_p"]) == (0.6, 0.9)
    assert (magistral["temperature"], magistral["top_p"]) == (0.2, 0.95)
