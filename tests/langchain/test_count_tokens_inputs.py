"""`count_tokens` takes what `invoke` takes, and `tools=`, and asks ModelsLab's count_tokens
endpoint: a string, tuples, a prompt value and messages of one conversation count alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab, ModelsLabInvalidInputError
from modelslab_emulator import Emulator

KEY = "sk-lc-count-inputs-0b9e"
TEXT = "one two three four five"


@tool
def lookup_weather(city: str, unit: str = "celsius") -> str:
    """Look up the current weather in a city, in the given unit."""
    return "sunny"


def _count(llm: ChatModelsLab, mode: str, value: Any, **kwargs: Any) -> int:
    if mode == "sync":
        return llm.count_tokens(value, **kwargs)
    return asyncio.run(llm.acount_tokens(value, **kwargs))


def _counts(emulator: Emulator) -> list[Any]:
    return [r.body for r in emulator.requests if r.path.endswith("/count_tokens")]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_input_form_counts_alike(mode: str, emulator: Emulator) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=emulator.base_url)
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    forms: list[Any] = [
        [SystemMessage("Be brief."), HumanMessage(TEXT)],
        [("system", "Be brief."), ("human", TEXT)],
        prompt.invoke({"q": TEXT}),
    ]
    counts = {_count(llm, mode, form) for form in forms}
    assert len(counts) == 1 and counts.pop() > 0
    assert _count(llm, mode, TEXT) == _count(llm, mode, [HumanMessage(TEXT)]) > 0
    assert len(_counts(emulator)) == 5


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tools_count_toward_the_prompt(mode: str, emulator: Emulator) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=emulator.base_url)
    bare = _count(llm, mode, TEXT)
    with_tools = _count(llm, mode, TEXT, tools=[lookup_weather])
    assert with_tools > bare
    assert "lookup_weather" in _counts(emulator)[-1]["system"]


def test_bad_input_is_refused_before_sending(emulator: Emulator) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=emulator.base_url)
    with pytest.raises(ModelsLabInvalidInputError):
        llm.count_tokens([object()])  # type: ignore[list-item]
    assert _counts(emulator) == []
