"""The one call-keyword list both adapters accept (`modelslab_transport.adapters`): the same
keywords reach the same body through ChatModelsLab and ModelsLabLLM, and the same misspelling
is refused by both, with a hint, before anything is sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import InvalidInputError
from modelslab_transport.adapters import (
    CALL_KEYWORDS,
    RESERVED_BODY_FIELDS,
    WIRE_PARAMS,
    check_call_keywords,
)

KEY = "test-key-adapter-boundary-5e2a"
MODEL = "meta-llama-llama-3.1-8b-instruct"  # a model that does not think
# The wire parameters ChatModelsLab refused per call before the list was shared, and others.
CALL = {
    "logprobs": True,
    "top_logprobs": 2,
    "logit_bias": {"1734": -100},
    "user": "u-42",
    "seed": 7,
    "temperature": 0.3,
    "max_tokens": 40,
    "stop": ["zz"],
    "extra_body": {"x_extra": 1},
}


def _chat_bodies(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]


def _chat_model(emulator: Emulator) -> ChatModelsLab:
    return ChatModelsLab(model=MODEL, api_key=KEY, base_url=emulator.base_url)


def _llm(emulator: Emulator) -> ModelsLabLLM:
    return ModelsLabLLM(model=MODEL, api_key=KEY, base_url=emulator.base_url)


def _langchain(emulator: Emulator, mode: str, **kwargs: Any) -> None:
    llm = _chat_model(emulator)
    if mode == "sync":
        llm.invoke("hi", **kwargs)
    elif mode == "stream":
        list(llm.stream("hi", **kwargs))
    elif mode == "async":
        asyncio.run(llm.ainvoke("hi", **kwargs))
    else:

        async def go() -> None:
            async for _ in llm.astream("hi", **kwargs):
                pass

        asyncio.run(go())


def _llama_index(emulator: Emulator, mode: str, **kwargs: Any) -> None:
    llm = _llm(emulator)
    messages = [ChatMessage(role=MessageRole.USER, content="hi")]
    if mode == "sync":
        llm.chat(messages, **kwargs)
    elif mode == "stream":
        list(llm.stream_chat(messages, **kwargs))
    elif mode == "async":
        asyncio.run(llm.achat(messages, **kwargs))
    else:

        async def go() -> None:
            async for _ in await llm.astream_chat(messages, **kwargs):
                pass

        asyncio.run(go())


MODES = ["sync", "stream", "async", "astream"]


@pytest.mark.parametrize("mode", MODES)
def test_both_adapters_send_the_same_body_for_the_same_call_keywords(
    emulator: Emulator, mode: str
) -> None:
    _langchain(emulator, mode, **CALL)
    _llama_index(emulator, mode, **CALL)
    langchain_body, llama_index_body = _chat_bodies(emulator)
    assert langchain_body == llama_index_body
    assert langchain_body["logprobs"] is True and langchain_body["top_logprobs"] == 2
    assert langchain_body["logit_bias"] == {"1734": -100} and langchain_body["user"] == "u-42"
    assert langchain_body["x_extra"] == 1 and "extra_body" not in langchain_body


@pytest.mark.parametrize("misspelled", [{"temprature": 0.1}, {"logprob": True}])
def test_both_adapters_refuse_the_same_misspelling_with_a_hint(
    emulator: Emulator, misspelled: dict[str, Any]
) -> None:
    (name,) = misspelled
    hint = rf"'{name}' \(did you mean '{name[:4]}"
    with pytest.raises(InvalidInputError, match=hint):
        _langchain(emulator, "sync", **misspelled)
    with pytest.raises(InvalidInputError, match=hint):
        _llama_index(emulator, "sync", **misspelled)
    assert _chat_bodies(emulator) == []


@pytest.mark.parametrize("field", sorted(RESERVED_BODY_FIELDS))
def test_both_adapters_refuse_reserved_fields_in_extra_body(emulator: Emulator, field: str) -> None:
    with pytest.raises(InvalidInputError, match=f"extra_body must not set {field}"):
        _langchain(emulator, "sync", extra_body={field: "x"})
    with pytest.raises(InvalidInputError, match=f"extra_body must not set {field}"):
        _llama_index(emulator, "sync", extra_body={field: "x"})
    assert _chat_bodies(emulator) == []


def test_check_call_keywords_names_the_caller_and_the_channel() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_call_keywords({"max_token": 5, "zzz": 1}, what="X got", channel="extra_body={...}")
    assert str(caught.value).startswith(
        "X got 'max_token' (did you mean 'max_tokens'?), 'zzz'; pass extra API fields in "
        "extra_body={...}"
    )


def test_check_call_keywords_takes_framework_keys_and_copies_extra_body() -> None:
    extra = {"x": 1}
    kwargs = {"temperature": 0.1, "own_switch": True, "extra_body": extra}
    checked = check_call_keywords(kwargs, what="X got", framework_keys={"own_switch"})
    assert checked == extra and checked is not extra
    assert "extra_body" in kwargs  # the caller's keywords are left as given
    with pytest.raises(InvalidInputError, match="'own_switch'"):
        check_call_keywords({"own_switch": True}, what="X got")
    with pytest.raises(InvalidInputError, match="extra_body must be a dict"):
        check_call_keywords({"extra_body": ["x"]}, what="X got")


def test_call_keywords_are_the_wire_parameters_plus_extra_body() -> None:
    assert WIRE_PARAMS | {"extra_body"} == CALL_KEYWORDS
    assert {"logprobs", "top_logprobs", "logit_bias", "user"} <= WIRE_PARAMS
    assert not WIRE_PARAMS & RESERVED_BODY_FIELDS
