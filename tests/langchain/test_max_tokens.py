"""ChatModelsLab's defaults from the catalogue: max_tokens, its one retry, sampling, profiles."""

from __future__ import annotations

import logging

import pytest
from langchain_core.messages import HumanMessage

import modelslab_transport as mt
from langchain_modelslab import ChatModelsLab, ModelsLabContextOverflowError
from modelslab_emulator import Emulator
from modelslab_transport import UNKNOWN_MODEL_MAX_TOKENS, default_max_tokens
from tests.support.adapter_calls import run_chat_model
from tests.support.emulator_log import chat_log
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel

KEY = "test-key-max-tokens-0123"
MAGISTRAL = "mistralai-Magistral-Small-2506"
PROMPT = "Tell me about Paris"
ANSWER = f"You said: {PROMPT}"
MESSAGES = [HumanMessage(PROMPT)]


chat_model_defaults = file_defaults(api_key=KEY)


MODES = ["invoke", "ainvoke", "stream", "astream"]


def test_done_when_invoke_without_max_tokens_returns_the_answer(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    # The check, word for word: settings from the environment, no max_tokens.
    monkeypatch.setenv("MODELSLAB_API_KEY", KEY)
    monkeypatch.setenv("MODELSLAB_BASE_URL", emulator.base_url)
    message = ChatModelsLab().invoke(PROMPT)
    assert message.content == ANSWER
    assert message.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("mode", MODES)
def test_no_max_tokens_gets_the_whole_answer_within_the_served_context(
    make_chat_model: MakeChatModel, emulator: Emulator, mode: str
) -> None:
    message = run_chat_model(make_chat_model(), mode, MESSAGES)
    assert message.content == ANSWER
    assert "Let me check that once more." in message.additional_kwargs["reasoning_content"]
    [request] = chat_log(emulator)
    sent = request.body["max_tokens"]
    assert sent == default_max_tokens(MAGISTRAL, [{"role": "user", "content": PROMPT}])
    usage = message.usage_metadata
    assert usage is not None
    assert 1000 < sent <= 40_960 - usage["input_tokens"]  # room for the prompt, and more than 1000
    assert request.body["temperature"] == 0.7 and request.body["top_p"] == 0.95  # Magistral's card


def test_the_server_default_would_have_cut_the_answer(make_chat_model: MakeChatModel) -> None:
    # What the default saves us from: 1000 tokens (the API's default) ends inside the thought.
    cut = make_chat_model(max_tokens=1000).invoke(PROMPT)
    assert cut.content == ""
    assert cut.response_metadata["finish_reason"] == "length"


def test_the_whole_context_as_max_tokens_is_refused_typed(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    # The trap: max_tokens=40960 on a 40,960-served Magistral; a caller's value is not retried.
    with pytest.raises(ModelsLabContextOverflowError) as info:
        make_chat_model(max_tokens=40_960).invoke(PROMPT)
    assert isinstance(info.value, mt.ContextLengthExceededError)
    assert "maximum context length is 40960" in str(info.value)
    assert len(chat_log(emulator)) == 1


def test_unknown_model_gets_the_documented_default(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    with pytest.raises(Exception, match="Model not found"):
        make_chat_model(model="not-in-the-catalogue").invoke(PROMPT)
    [request] = chat_log(emulator)
    assert request.body["max_tokens"] == UNKNOWN_MODEL_MAX_TOKENS == 4096
    assert "temperature" not in request.body  # no card, no sampling defaults


@pytest.mark.parametrize("mode", MODES)
def test_refused_default_is_retried_once_with_the_stated_limit(
    make_chat_model: MakeChatModel, emulator: Emulator, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.WARNING, logger="modelslab_transport")
    message = run_chat_model(make_chat_model("served-context;tokens=3000"), mode, MESSAGES)
    assert message.content == ANSWER
    first, second = chat_log(emulator)
    assert (first.status, second.status) == (400, 200)
    assert second.body["max_tokens"] == 3000 - 4 - 16  # served - prompt (4 words) - margin
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"max_tokens={second.body['max_tokens']}" in r.getMessage() for r in warnings)
    assert all(KEY not in r.getMessage() for r in warnings)


def test_sampling_defaults_come_from_each_models_card(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    make_chat_model(model="deepseek-deepseek-r1-distill-llama-70b").invoke(PROMPT)
    make_chat_model(temperature=0.2).invoke(PROMPT)  # the caller's field wins, the rest stay
    deepseek, magistral = (r.body for r in chat_log(emulator))
    assert (deepseek["temperature"], deepseek["top_p"]) == (0.6, 0.95)
    assert (magistral["temperature"], magistral["top_p"]) == (0.2, 0.95)


@pytest.mark.parametrize("info", mt.MODELS, ids=[m.id for m in mt.MODELS])
def test_every_catalogue_model_has_a_profile(info: mt.ModelInfo) -> None:
    from langchain.agents.middleware import SummarizationMiddleware

    llm = ChatModelsLab(api_key=KEY, model=info.id)
    profile = llm.profile
    assert profile is not None
    assert profile["max_input_tokens"] == info.context_limit
    assert profile["max_output_tokens"] == info.max_output_tokens
    assert profile["reasoning_output"] is info.reasons
    assert profile["tool_calling"] is info.tools
    assert profile["image_inputs"] is info.images
    for alias in info.aliases:
        assert ChatModelsLab(api_key=KEY, model=alias).profile == profile
    # A fraction of the context is a trigger only a model with a profile can take.
    SummarizationMiddleware(model=llm, trigger=("fraction", 0.5))
