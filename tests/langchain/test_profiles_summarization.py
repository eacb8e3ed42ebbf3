"""Every catalogue model has a LangChain profile (whichever spelling names it), so middleware
that measures against the context window, like `SummarizationMiddleware(trigger=("fraction",
0.5))`, works with ChatModelsLab."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import SummarizationMiddleware
from langchain_core.messages import AIMessage, HumanMessage

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator
from modelslab_transport.models._catalog import MODELS

KEY = "sk-lc-profiles-6d2f"
NAMES = [(info, name) for info in MODELS for name in (info.id, *info.aliases)]


@pytest.mark.parametrize("field", ["model", "model_name"])
@pytest.mark.parametrize(("info", "name"), NAMES, ids=[name for _, name in NAMES])
def test_every_catalogue_model_has_a_profile(info: Any, name: str, field: str) -> None:
    for spelling in (name, name.lower()):
        profile = ChatModelsLab(**{field: spelling}, api_key=KEY).profile
        assert profile is not None, spelling
        assert profile["max_input_tokens"] == info.context_limit
        assert profile["max_output_tokens"] == info.max_output_tokens
        assert profile["tool_calling"] is info.tools
        assert profile["reasoning_output"] is info.reasons


def test_unknown_model_has_no_profile() -> None:
    assert ChatModelsLab(model="someone-unknown-model", api_key=KEY).profile is None


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_summarization_by_fraction_of_the_context(mode: str, emulator: Emulator) -> None:
    llm = ChatModelsLab(
        model="mistralai-Magistral-Small-2506", api_key=KEY, base_url=emulator.base_url
    )
    limit = llm.profile["max_input_tokens"]  # type: ignore[index]
    middleware = SummarizationMiddleware(llm, trigger=("fraction", 0.5), keep=("messages", 2))
    agent = create_agent(llm, tools=[], middleware=[middleware])
    # About 0.6 of the context in old turns (4 characters a token, LangChain's estimate), in
    # turns small enough for the summariser's 4000-token window to keep some of them.
    old = "filler " * 350
    history: list[Any] = []
    for _ in range(limit * 6 // 10 // (len(old) // 4)):
        history += [HumanMessage(old), AIMessage("noted")]
    state = {"messages": [*history, HumanMessage("one two three")]}
    result = agent.invoke(state) if mode == "invoke" else asyncio.run(agent.ainvoke(state))
    assert "one two three" in str(result["messages"][-1].content)
    chats = [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2  # the summary, then the answer
    final = chats[-1]["messages"]
    assert len(final) == 3  # the summary and the two turns kept
    assert "summary" in str(final[0]["content"]).lower()
    assert "too long to summarize" not in str(final[0]["content"])
    assert "filler" in str(chats[0]["messages"])  # the summariser saw the old turns
