"""Both adapters send a turn's tool-call ids distinct and paired with their results, whatever
the ids share (see tests/support/tool_call_ids.py): checked on the body the emulator received,
and on the answer, which names each result's tool by its call's id."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from modelslab_emulator import Emulator
from tests.support.models import PLAIN_MODEL, MakeLLM
from tests.support.tool_call_ids import NAMED_PAIRS, assert_distinct_and_paired, id_pairs
from tests.support.weather_agent import get_weather

from .sides import LlamaIndexSide, Side
from .turns import Call, assistant, tool, user

ANSWER = 'Based on the tool results: get_weather returned "sunny, 21C"; get_time returned "09:00".'


def get_time(city: str) -> str:
    """Local time in a city."""
    return "09:00"


def question(nonce: str) -> str:
    return f"get_weather and get_time for Paris ({nonce})"


def ask(
    side: Side, emulator: Emulator, ids: tuple[str, str], messages: list[Any] | None = None
) -> tuple[str, list[dict[str, object]]]:
    """The answer (PLAIN_MODEL: no thinking first) to a turn with these call ids (or to
    `messages`, which end that turn), and the messages the emulator received."""
    nonce = uuid.uuid4().hex
    turns = [
        user(question(nonce)),
        assistant(
            "",
            Call(ids[0], "get_weather", {"city": "Paris"}),
            Call(ids[1], "get_time", {"city": "Paris"}),
        ),
        tool(ids[0], "sunny, 21C"),
        tool(ids[1], "09:00"),
    ]
    history = side.messages(turns) if messages is None else side.messages(turns[:1]) + messages
    model = side.model(model=PLAIN_MODEL, api_key="test-key-ids")
    reply = side.ask(model, "sync", history, tools=[get_weather, get_time])
    (sent,) = [
        r.body["messages"]
        for r in emulator.requests
        if nonce in str(r.body.get("messages", [{}])[0].get("content"))
    ]
    return reply.text, sent


@pytest.mark.parametrize("ids", NAMED_PAIRS.values(), ids=list(NAMED_PAIRS))
def test_calls_whose_ids_share_all_but_a_little_stay_apart(
    side: Side, emulator: Emulator, ids: tuple[str, str]
) -> None:
    answer, sent = ask(side, emulator, ids)
    assert_distinct_and_paired(sent, 2)
    assert answer == ANSWER  # each result is credited to its own tool


@pytest.mark.parametrize("ids", NAMED_PAIRS.values(), ids=list(NAMED_PAIRS))
def test_llama_index_calls_kept_in_additional_kwargs_stay_apart(
    make_llm: MakeLLM, emulator: Emulator, ids: tuple[str, str]
) -> None:
    # Calls kept in additional_kwargs, as older LlamaIndex code stores them.
    raw = [
        {"id": ids[0], "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": ids[1], "function": {"name": "get_time", "arguments": '{"city": "Paris"}'}},
    ]
    rest = [
        ChatMessage(role=MessageRole.ASSISTANT, content="", additional_kwargs={"tool_calls": raw}),
        ChatMessage(role=MessageRole.TOOL, content="sunny, 21C", additional_kwargs={"tool_call_id": ids[0]}),
        ChatMessage(role=MessageRole.TOOL, content="09:00", additional_kwargs={"tool_call_id": ids[1]}),
    ]  # fmt: skip
    answer, sent = ask(LlamaIndexSide(make_llm), emulator, ids, rest)
    assert_distinct_and_paired(sent, 2)
    assert answer == ANSWER


# `side`'s models are per test, not per example: each example finds its request by its nonce.
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ids=id_pairs())
def test_any_two_ids_reach_the_server_distinct_and_paired(
    side: Side, emulator: Emulator, ids: tuple[str, str]
) -> None:
    answer, sent = ask(side, emulator, ids)
    assert_distinct_and_paired(sent, 2)
    assert answer == ANSWER
