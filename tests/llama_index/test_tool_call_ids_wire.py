"""ModelsLabLLM sends a turn's tool-call ids distinct and paired with their results, whatever
the ids share (see tests/tool_call_ids.py): checked on the body the emulator received, and on
the answer, which names each result's tool by its call's id."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ToolCallBlock
from llama_index.core.tools import FunctionTool

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support.models import PLAIN_MODEL
from tests.support.tool_call_ids import NAMED_PAIRS, assert_distinct_and_paired, id_pairs

ANSWER = 'Based on the tool results: get_weather returned "sunny, 21C"; get_time returned "09:00".'


def get_weather(city: str) -> str:
    """Current weather of a city."""
    return "sunny, 21C"


def get_time(city: str) -> str:
    """Local time of a city."""
    return "09:00"


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(get_time)]


def history(nonce: str, ids: tuple[str, str], legacy: bool) -> list[ChatMessage]:
    if legacy:  # calls kept in additional_kwargs, as older LlamaIndex code stores them
        raw = [
            {"id": ids[0], "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": ids[1], "function": {"name": "get_time", "arguments": '{"city": "Paris"}'}},
        ]
        assistant = ChatMessage(
            role=MessageRole.ASSISTANT, content="", additional_kwargs={"tool_calls": raw}
        )
    else:
        assistant = ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[
                TextBlock(text=""),
                ToolCallBlock(tool_call_id=ids[0], tool_name="get_weather", tool_kwargs={"city": "Paris"}),
                ToolCallBlock(tool_call_id=ids[1], tool_name="get_time", tool_kwargs={"city": "Paris"}),
            ],
        )  # fmt: skip
    return [
        ChatMessage(role=MessageRole.USER, content=f"get_weather and get_time for Paris ({nonce})"),
        assistant,
        ChatMessage(role=MessageRole.TOOL, content="sunny, 21C", additional_kwargs={"tool_call_id": ids[0]}),
        ChatMessage(role=MessageRole.TOOL, content="09:00", additional_kwargs={"tool_call_id": ids[1]}),
    ]  # fmt: skip


def ask(
    emulator: Emulator, ids: tuple[str, str], legacy: bool = False
) -> tuple[str, list[dict[str, object]]]:
    """The answer to a turn with these call ids, and the messages the emulator received."""
    nonce = uuid.uuid4().hex
    llm = ModelsLabLLM(model=PLAIN_MODEL, api_key="test-key-ids", base_url=emulator.base_url)
    try:
        answer = llm.chat_with_tools(TOOLS, chat_history=history(nonce, ids, legacy))
    finally:
        llm._clients.close()
    (sent,) = [
        r.body["messages"]
        for r in emulator.requests
        if nonce in str(r.body.get("messages", [{}])[0].get("content"))
    ]
    return answer.message.content or "", sent


@pytest.mark.parametrize("legacy", [False, True], ids=["blocks", "additional_kwargs"])
@pytest.mark.parametrize("ids", NAMED_PAIRS.values(), ids=list(NAMED_PAIRS))
def test_calls_whose_ids_share_all_but_a_little_stay_apart(
    emulator: Emulator, ids: tuple[str, str], legacy: bool
) -> None:
    answer, sent = ask(emulator, ids, legacy)
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
