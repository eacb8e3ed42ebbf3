"""ChatModelsLab sends a turn's tool-call ids distinct and paired with their results, whatever
the ids share (see tests/tool_call_ids.py): checked on the body the emulator received, and on
the answer, which names each result's tool by its call's id."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator
from tests.support.tool_call_ids import NAMED_PAIRS, assert_distinct_and_paired, id_pairs

LLAMA = "meta-llama-llama-3.1-8b-instruct"  # answers without thinking first
ANSWER = 'Based on the tool results: get_weather returned "sunny, 21C"; get_time returned "09:00".'


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny, 21C"


@tool
def get_time(city: str) -> str:
    """Local time in a city."""
    return "09:00"


def history(nonce: str, ids: tuple[str, str]) -> list[BaseMessage]:
    calls = [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": ids[0]},
        {"name": "get_time", "args": {"city": "Paris"}, "id": ids[1]},
    ]
    return [
        HumanMessage(f"get_weather and get_time for Paris ({nonce})"),
        AIMessage("", tool_calls=calls),
        ToolMessage("sunny, 21C", tool_call_id=ids[0]),
        ToolMessage("09:00", tool_call_id=ids[1]),
    ]


def ask(emulator: Emulator, ids: tuple[str, str]) -> tuple[str, list[dict[str, object]]]:
    """The answer to a turn with these call ids, and the messages the emulator received."""
    nonce = uuid.uuid4().hex
    model = ChatModelsLab(model=LLAMA, api_key="test-key-ids", base_url=emulator.base_url)
    try:
        answer = model.bind_tools([get_weather, get_time]).invoke(history(nonce, ids))
    finally:
        model.close()
    (sent,) = [
        r.body["messages"]
        for r in emulator.requests
        if nonce in str(r.body.get("messages", [{}])[0].get("content"))
    ]
    return str(answer.content), sent


@pytest.mark.parametrize("ids", NAMED_PAIRS.values(), ids=list(NAMED_PAIRS))
def test_calls_whose_ids_share_all_but_a_little_stay_apart(
    emulator: Emulator, ids: tuple[str, str]
) -> None:
    answer, sent = ask(emulator, ids)
    assert_distinct_and_paired(sent, 2)
    assert answer == ANSWER  # each result is credited to its own tool


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ids=id_pairs())
def test_any_two_ids_reach_the_server_distinct_and_paired(
    modelslab_emulator: Emulator, ids: tuple[str, str]
) -> None:
    answer, sent = ask(modelslab_emulator, ids)
    assert_distinct_and_paired(sent, 2)
    assert answer == ANSWER
