"""Call keywords: a misspelled one (per call or in `bind`) is refused before anything is sent,
with a did-you-mean hint; extra API fields travel through `extra_body=` or `model_kwargs`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.tools import tool

from langchain_modelslab import ModelsLabInvalidInputError
from modelslab_emulator import Emulator
from tests.support.emulator_log import chat_bodies
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel

KEY = "sk-lc-call-kwargs-3c1d"
MODEL = "meta-llama-llama-3.1-8b-instruct"


chat_model_defaults = file_defaults(api_key=KEY, model=MODEL)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _run(mode: str, runnable: Any, **kwargs: Any) -> Any:
    if mode == "invoke":
        return runnable.invoke("one two", **kwargs)
    if mode == "stream":
        return list(runnable.stream("one two", **kwargs))
    if mode == "ainvoke":
        return asyncio.run(runnable.ainvoke("one two", **kwargs))

    async def go() -> list[Any]:
        return [c async for c in runnable.astream("one two", **kwargs)]

    return asyncio.run(go())


MODES = ["invoke", "stream", "ainvoke", "astream"]


@pytest.mark.parametrize("mode", MODES)
def test_misspelled_call_keyword_is_refused_before_sending(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    with pytest.raises(ModelsLabInvalidInputError, match=r"'temprature' \(did you mean 'temp"):
        _run(mode, make_chat_model(), temprature=0.1)
    assert chat_bodies(emulator) == []


@pytest.mark.parametrize("mode", MODES)
def test_misspelled_bound_keyword_is_refused_before_sending(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    bound = make_chat_model().bind(max_token=5)
    with pytest.raises(ModelsLabInvalidInputError, match=r"did you mean 'max_tokens'"):
        _run(mode, bound)
    assert chat_bodies(emulator) == []


def test_unknown_keyword_without_a_close_match_names_the_channel(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    with pytest.raises(ModelsLabInvalidInputError, match=r"'zzz'; pass extra API fields in extra"):
        make_chat_model().invoke("hi", zzz=1)


@pytest.mark.parametrize("mode", MODES)
def test_extra_body_fields_are_sent(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    _run(
        mode,
        make_chat_model(),
        extra_body={"user": "u-42"},
        temperature=0.3,
    )
    (body,) = chat_bodies(emulator)
    assert body["user"] == "u-42" and body["temperature"] == 0.3
    assert "extra_body" not in body


def test_extra_body_in_bind_and_model_kwargs_both_reach_the_body(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model(model_kwargs={"logprobs": False})
    llm.bind(extra_body={"user": "u-7"}).invoke("hi")
    (body,) = chat_bodies(emulator)
    assert body["user"] == "u-7" and body["logprobs"] is False


@pytest.mark.parametrize("extra", [{"key": "x"}, {"model_id": "m"}, ["user"]])
def test_extra_body_cannot_set_reserved_fields(
    extra: Any, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    with pytest.raises(ModelsLabInvalidInputError, match="extra_body"):
        make_chat_model().invoke("hi", extra_body=extra)
    assert chat_bodies(emulator) == []


def test_what_langchain_passes_per_call_still_works(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model()
    bound = llm.bind_tools([add], tool_choice="add", parallel_tool_calls=False)
    message = bound.invoke("add 2 and 3", stop=["zzz"], stream_usage=True)
    assert message.tool_calls and message.tool_calls[0]["name"] == "add"
    llm.bind(response_format={"type": "json_object"}).invoke("give json")
    list(llm.stream("hi", stream_options={"include_usage": True}))
    first, second, third = chat_bodies(emulator)
    assert first["tool_choice"]["function"]["name"] == "add"
    assert first["parallel_tool_calls"] is False and first["stop"] == ["zzz"]
    assert second["response_format"] == {"type": "json_object"}
    assert third["stream_options"] == {"include_usage": True}
