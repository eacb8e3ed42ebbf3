"""ModelsLabLLM's defaults from the catalogue: max_tokens, its one retry, sampling, metadata."""

from __future__ import annotations

import logging

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, ThinkingBlock

import modelslab_transport as mt
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import UNKNOWN_MODEL_MAX_TOKENS, default_max_tokens
from tests.support.adapter_calls import run_llm
from tests.support.emulator_log import chat_log
from tests.support.models import KEY, MakeLLM
from tests.support.scenarios import unique

MAGISTRAL = "mistralai-Magistral-Small-2506"
PROMPT = "Tell me about Paris"
ANSWER = f"You said: {PROMPT}"
USER = [ChatMessage(role=MessageRole.USER, content=PROMPT)]
MODES = ["chat", "achat", "stream_chat", "astream_chat"]


def thinking(response: ChatResponse) -> str:
    return "".join(b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock))


def test_done_when_chat_without_max_tokens_returns_the_answer(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    # The check, word for word: settings from the environment, no max_tokens.
    monkeypatch.setenv("MODELSLAB_API_KEY", KEY)
    monkeypatch.setenv("MODELSLAB_BASE_URL", emulator.base_url)
    response = ModelsLabLLM().chat(USER)
    assert response.message.content == ANSWER
    assert response.raw["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("mode", MODES)
def test_no_max_tokens_gets_the_whole_answer_within_the_served_context(
    make_llm: MakeLLM, emulator: Emulator, mode: str
) -> None:
    response = run_llm(make_llm(), mode, USER)
    assert response.message.content == ANSWER
    assert "Let me check that once more." in thinking(response)
    [request] = chat_log(emulator)
    sent = request.body["max_tokens"]
    assert sent == default_max_tokens(MAGISTRAL, [{"role": "user", "content": PROMPT}])
    prompt_tokens = response.additional_kwargs["prompt_tokens"]
    assert 1000 < sent <= 40_960 - prompt_tokens  # room for the prompt, and more than 1000
    # Magistral's card sampling, now applied by this adapter too.
    assert (request.body["temperature"], request.body["top_p"]) == (0.7, 0.95)


def test_the_server_default_would_have_cut_the_answer(make_llm: MakeLLM) -> None:
    cut = make_llm(max_tokens=1000).chat(USER)  # what the API does when max_tokens is unset
    assert cut.message.content == ""
    assert cut.raw["choices"][0]["finish_reason"] == "length"


def test_the_whole_context_as_max_tokens_is_refused_typed(
    make_llm: MakeLLM, emulator: Emulator
) -> None:
    with pytest.raises(mt.ContextLengthExceededError) as info:
        make_llm(max_tokens=40_960).chat(USER)
    assert "maximum context length is 40960" in info.value.message
    with pytest.raises(mt.ContextLengthExceededError):
        list(make_llm(max_tokens=40_960).stream_chat(USER))
    assert len(chat_log(emulator)) == 2  # a caller's own value is not retried


def test_unknown_model_gets_the_documented_default(make_llm: MakeLLM, emulator: Emulator) -> None:
    with pytest.raises(mt.NotFoundError):
        make_llm(model="not-in-the-catalogue").chat(USER)
    [request] = chat_log(emulator)
    assert request.body["max_tokens"] == UNKNOWN_MODEL_MAX_TOKENS == 4096
    assert "temperature" not in request.body


@pytest.mark.parametrize("mode", MODES)
def test_refused_default_is_retried_once_with_the_stated_limit(
    make_llm: MakeLLM, emulator: Emulator, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.WARNING, logger="modelslab_transport")
    response = run_llm(make_llm(unique("served-context;tokens=3000")), mode, USER)
    assert response.message.content == ANSWER
    first, second = chat_log(emulator)
    assert (first.status, second.status) == (400, 200)
    assert second.body["max_tokens"] == 3000 - 4 - 16  # served - prompt (4 words) - margin
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"max_tokens={second.body['max_tokens']}" in w for w in warnings)
    assert all(KEY not in w for w in warnings)


def test_sampling_defaults_and_the_callers_own(make_llm: MakeLLM, emulator: Emulator) -> None:
    make_llm(model="meta-llama-llama-3.1-8b-instruct").chat(USER)
    make_llm(temperature=0.2).chat(USER)
    llama, magistral = (r.body for r in chat_log(emulator))
    assert (llama["temperature"], llama["top_p"]) == (0.6, 0.9)
    assert (magistral["temperature"], magistral["top_p"]) == (0.2, 0.95)


@pytest.mark.parametrize("info", mt.MODELS, ids=[m.id for m in mt.MODELS])
def test_metadata_from_the_catalogue(info: mt.ModelInfo) -> None:
    meta = ModelsLabLLM(info.id, api_key=KEY).metadata
    assert meta.context_window == info.context_limit
    assert meta.num_output == min(info.max_output_tokens, info.context_limit // 2)
    assert meta.num_output < meta.context_window  # room is left for the prompt
    assert meta.is_function_calling_model is info.tools
