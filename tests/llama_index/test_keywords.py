"""Constructor and per-call keywords: OpenAI-style aliases accepted, the rest refused with a hint
before anything is sent, a per-call timeout honoured (issue 13, items 7, 8 and 11)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.callbacks import CallbackManager
from llama_index.core.output_parsers import PydanticOutputParser
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import APITimeoutError, InvalidInputError
from tests.support.models import KEY, PLAIN_MODEL, MakeLLM
from tests.support.scenarios import unique

USER = [ChatMessage(role=MessageRole.USER, content="hi")]
MODES = ["sync", "async"]


def _complete(llm: ModelsLabLLM, mode: str, prompt: str = "hi", **kwargs: Any) -> str:
    if mode == "sync":
        return llm.complete(prompt, **kwargs).text
    return asyncio.run(llm.acomplete(prompt, **kwargs)).text


def _chat(llm: ModelsLabLLM, mode: str, **kwargs: Any) -> str:
    if mode == "sync":
        return llm.chat(USER, **kwargs).message.content or ""
    return asyncio.run(llm.achat(USER, **kwargs)).message.content or ""


def _wait_idle(emulator: Emulator) -> None:
    # An abandoned request is still served: let it finish before the next test's log starts.
    deadline = time.monotonic() + 5
    while any(emulator.in_flight.values()) and time.monotonic() < deadline:
        time.sleep(0.05)


def _slow_first_byte(make_llm: MakeLLM, **fields: Any) -> ModelsLabLLM:
    """A model whose first request waits 1.5 s for its first byte (the next is answered)."""
    return make_llm(unique("slow-first-byte;delay=1.5;times=1"), max_retries=0, **fields)


def _times_out_early(emulator: Emulator, call: Callable[[], object]) -> None:
    """`call` raises the typed timeout well before that first byte comes."""
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        call()
    assert time.monotonic() - started < 1.2
    _wait_idle(emulator)


# -- item 7: constructor keywords ---------------------------------------------------------------


def test_api_base_is_an_alias_of_base_url(emulator: Emulator) -> None:
    llm = ModelsLabLLM(api_key=KEY, api_base=emulator.base_url, model=PLAIN_MODEL)
    assert llm.base_url == emulator.base_url
    assert llm.complete("hi").text == "You said: hi"
    assert len(emulator.requests) == 1  # it went to the emulator, not to modelslab.com


def test_api_base_and_base_url_must_agree(emulator: Emulator) -> None:
    with pytest.raises(InvalidInputError, match="alias of base_url"):
        ModelsLabLLM(api_key=KEY, api_base=emulator.base_url, base_url="http://127.0.0.1:1/v7")
    same = ModelsLabLLM(api_key=KEY, api_base=emulator.base_url, base_url=emulator.base_url)
    assert same.base_url == emulator.base_url


@pytest.mark.parametrize("mode", MODES)
def test_request_timeout_is_an_alias_of_timeout(
    emulator: Emulator, make_llm: MakeLLM, mode: str
) -> None:
    llm = _slow_first_byte(make_llm, request_timeout=0.3)
    assert llm.timeout == 0.3
    _times_out_early(emulator, lambda: _chat(llm, mode))


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"temprature": 0.1}, "did you mean 'temperature'"),
        ({"max_token": 5}, "did you mean 'max_tokens'"),
        ({"api_bse": "http://127.0.0.1:1"}, "did you mean 'api_base'"),
        ({"frobnicate": 1}, "additional_kwargs"),
    ],
)
def test_unknown_constructor_keywords_are_refused_with_a_hint(
    emulator: Emulator, kwargs: dict[str, Any], hint: str
) -> None:
    with pytest.raises(InvalidInputError, match=hint):
        ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, **kwargs)


def test_is_chat_model_false_is_refused(emulator: Emulator) -> None:
    with pytest.raises(InvalidInputError, match="is a chat model"):
        ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, is_chat_model=False)
    llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, is_chat_model=True)
    assert llm.metadata.is_chat_model


class Answer(BaseModel):
    text: str


def test_llama_index_llm_settings_are_accepted(emulator: Emulator) -> None:
    # What LlamaIndex's own LLM base declares: none of these is refused as unknown.
    llm = ModelsLabLLM(
        api_key=KEY,
        base_url=emulator.base_url,
        model=PLAIN_MODEL,
        callback_manager=CallbackManager([]),
        system_prompt="Be brief.",
        pydantic_program_mode=PydanticProgramMode.DEFAULT,
        output_parser=PydanticOutputParser(Answer),
        query_wrapper_prompt=PromptTemplate("{query_str}"),
        messages_to_prompt=None,
        completion_to_prompt=None,
    )
    assert llm.system_prompt == "Be brief."
    assert llm.complete("hi").text == "You said: hi"
    restored = ModelsLabLLM.from_dict(llm.to_dict(), api_key=KEY)
    assert restored.base_url == emulator.base_url


# -- item 11: prompt formatters of text-completion models ---------------------------------------


@pytest.mark.parametrize("name", ["messages_to_prompt", "completion_to_prompt"])
def test_prompt_formatters_are_refused_with_the_reason(emulator: Emulator, name: str) -> None:
    with pytest.raises(InvalidInputError, match=f"does not use {name}: it is a chat model"):
        ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, **{name: lambda x: str(x)})
    assert emulator.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("formatted", [True, False])
def test_formatted_sends_the_prompt_unchanged(
    emulator: Emulator, mode: str, formatted: bool
) -> None:
    # Nothing formats a chat model's prompt, so formatted= has nothing to skip: either way the
    # prompt goes as the user message, as with OpenAI/OpenAILike chat models.
    llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, model=PLAIN_MODEL)
    assert _complete(llm, mode, "Plain prompt", formatted=formatted) == "You said: Plain prompt"
    assert emulator.requests[0].body["messages"] == [{"role": "user", "content": "Plain prompt"}]


# -- item 8: per-call keywords ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_unknown_call_keywords_are_refused_before_sending(emulator: Emulator, mode: str) -> None:
    llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url)
    with pytest.raises(InvalidInputError, match="did you mean 'max_tokens'"):
        _complete(llm, mode, max_token=5)
    with pytest.raises(InvalidInputError, match="did you mean 'temperature'"):
        _chat(llm, mode, temprature=0.1)
    with pytest.raises(InvalidInputError, match="extra_body"):
        llm.stream_chat(USER, frobnicate=1)  # refused at the call, not at the first chunk
    assert emulator.requests == []


def test_extra_fields_go_through_extra_body(emulator: Emulator) -> None:
    llm = ModelsLabLLM(
        api_key=KEY, base_url=emulator.base_url, model=PLAIN_MODEL, additional_kwargs={"x_a": 1}
    )
    llm.chat(USER, extra_body={"x_b": 2}, x_a=3, seed=7)  # an additional_kwargs key may be reset
    body = emulator.requests[0].body
    assert (body["x_a"], body["x_b"], body["seed"]) == (3, 2, 7)
    assert "extra_body" not in body


@pytest.mark.parametrize("mode", MODES)
def test_per_call_timeout_is_honoured(emulator: Emulator, make_llm: MakeLLM, mode: str) -> None:
    llm = _slow_first_byte(make_llm, model=PLAIN_MODEL)
    _times_out_early(emulator, lambda: _complete(llm, mode, timeout=0.3))
    emulator.clear()
    assert _complete(llm, mode, timeout=30) == "You said: hi"  # the instance's is unchanged
    assert llm.timeout is None
    assert "timeout" not in emulator.requests[0].body


def test_per_call_timeout_on_a_stream(emulator: Emulator, make_llm: MakeLLM) -> None:
    llm = _slow_first_byte(make_llm, first_byte_timeout=None)
    _times_out_early(emulator, lambda: list(llm.stream_complete("hi", timeout=0.3)))
