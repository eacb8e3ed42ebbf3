"""ModelsLabLLM against a host that applies Mistral's tokenizer rules and serves 40,000 or
40,960 tokens: conversations shaped (nothing lost), a trailing assistant refused before
sending, long prompts answered, one refusal per host. Every mode: chat, achat, stream_chat,
astream_chat."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from modelslab_emulator import Emulator
from modelslab_transport import BRIDGE_TEXT, InvalidConversationError, normalize_tool_call_id
from tests.support.adapter_calls import LLM_MODES
from tests.support.adapter_calls import run_llm as run
from tests.support.long_prompts import RAG_QUESTION, emulator_context, rag_prompt
from tests.support.models import PLAIN_MODEL, MakeLLM
from tests.support.scenarios import unique

MODES = list(LLM_MODES)

QUESTION = ChatMessage(role=MessageRole.USER, content="What is the weather in Paris?")
CALL = ChatMessage(
    role=MessageRole.ASSISTANT,
    blocks=[
        ToolCallBlock(
            tool_call_id="call_weather_01", tool_name="get_weather", tool_kwargs={"city": "Paris"}
        )
    ],
)
RESULT = ChatMessage(
    role=MessageRole.TOOL,
    content="sunny, 21 C",
    additional_kwargs={"tool_call_id": "call_weather_01"},
)
FOLLOW_UP = ChatMessage(role=MessageRole.USER, content="And what should I wear?")
# An answer cut inside its reasoning, reasoning kept out of history: no content, no calls.
CUT = ChatMessage(role=MessageRole.ASSISTANT, blocks=[ThinkingBlock(content="Let me think")])


def sent(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]


@pytest.mark.parametrize("mode", MODES)
def test_a_user_after_a_tool_result_is_answered_with_the_bridge(
    make_llm: MakeLLM, emulator: Emulator, mode: str
) -> None:
    response = run(make_llm(), mode, [QUESTION, CALL, RESULT, FOLLOW_UP])
    assert response.message.content
    [body] = sent(emulator)
    wire_id = normalize_tool_call_id("call_weather_01")
    assert body["messages"] == [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": wire_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "sunny, 21 C", "tool_call_id": wire_id},
        {"role": "assistant", "content": BRIDGE_TEXT},
        {"role": "user", "content": "And what should I wear?"},
    ]


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_assistant_message_is_left_out_and_the_rest_is_sent(
    make_llm: MakeLLM, emulator: Emulator, mode: str
) -> None:
    system = ChatMessage(role=MessageRole.SYSTEM, blocks=[TextBlock(text="Be brief.")])
    response = run(make_llm(), mode, [system, QUESTION, CUT, FOLLOW_UP])
    assert response.message.content == "You said: And what should I wear?"
    [body] = sent(emulator)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "user", "content": "And what should I wear?"},
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_trailing_assistant_message_is_refused_before_any_request(
    make_llm: MakeLLM, emulator: Emulator, mode: str
) -> None:
    answer = ChatMessage(role=MessageRole.ASSISTANT, content="It is sunny.")
    with pytest.raises(InvalidConversationError) as info:
        run(make_llm(), mode, [QUESTION, answer])
    assert isinstance(info.value, ValueError)
    assert "Expected last role User or Tool (or Assistant with prefix True)" in str(info.value)
    assert sent(emulator) == []


@pytest.mark.parametrize("mode", ["chat", "astream_chat"])
def test_other_models_get_the_conversation_as_built(
    make_llm: MakeLLM, emulator: Emulator, mode: str
) -> None:
    run(make_llm(model=PLAIN_MODEL), mode, [QUESTION, CALL, RESULT, CUT, FOLLOW_UP])
    [body] = sent(emulator)
    assert [m["role"] for m in body["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert BRIDGE_TEXT not in json.dumps(body)


@pytest.mark.parametrize("host", [40_000, 40_960])
@pytest.mark.parametrize("mode", MODES)
def test_a_30000_token_rag_prompt_is_answered(
    make_llm: MakeLLM, emulator: Emulator, host: int, mode: str
) -> None:
    system, question = rag_prompt(30_000)
    served = emulator_context(host, system, question)
    llm = make_llm(scenario=unique(f"served-context;tokens={served}"))
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content=system),
        ChatMessage(role=MessageRole.USER, content=question),
    ]
    response = run(llm, mode, messages)
    assert response.message.content == f"You said: {RAG_QUESTION}"
    thinking = "".join(
        b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock)
    )
    assert "Let me check that once more." in thinking
    assert len(sent(emulator)) == 1  # no refusal


def test_three_calls_on_a_40000_host_cost_one_refusal(
    make_llm: MakeLLM, emulator: Emulator
) -> None:
    llm = make_llm(scenario=unique("served-context;tokens=40000"))
    hi = [ChatMessage(role=MessageRole.USER, content="Hi")]
    for mode in ("chat", "stream_chat", "achat", "astream_chat"):
        assert run(llm, mode, hi).message.content == "You said: Hi"
    statuses = [r.status for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert statuses == [400, 200, 200, 200, 200]
