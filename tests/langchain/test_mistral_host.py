"""ChatModelsLab against a host that applies Mistral's tokenizer rules and serves 40,000 or
40,960 tokens: conversations shaped (nothing lost), a trailing assistant refused before
sending, long prompts answered, one refusal per host. Every mode: invoke, ainvoke, stream,
astream."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_modelslab import ModelsLabInvalidConversationError
from modelslab_emulator import Emulator
from modelslab_transport import BRIDGE_TEXT, InvalidInputError, normalize_tool_call_id
from tests.support.adapter_calls import CHAT_MODEL_MODES
from tests.support.adapter_calls import run_chat_model as run
from tests.support.long_prompts import RAG_QUESTION, emulator_context, rag_prompt
from tests.support.models import MakeChatModel

MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"
MODES = list(CHAT_MODEL_MODES)

QUESTION = HumanMessage("What is the weather in Paris?")
CALL = AIMessage(
    "", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_weather_01"}]
)
RESULT = ToolMessage("sunny, 21 C", tool_call_id="call_weather_01")
FOLLOW_UP = HumanMessage("And what should I wear?")
# An answer cut inside its reasoning, reasoning kept out of history: no content, no calls.
CUT = AIMessage("", additional_kwargs={"reasoning_content": "Let me think about"})


def sent(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]


@pytest.mark.parametrize("mode", MODES)
def test_a_user_after_a_tool_result_is_answered_with_the_bridge(
    make_chat_model: MakeChatModel, emulator: Emulator, mode: str
) -> None:
    message = run(make_chat_model(), mode, [QUESTION, CALL, RESULT, FOLLOW_UP])
    assert message.content and message.response_metadata["finish_reason"] == "stop"
    [body] = sent(emulator)
    wire_id = normalize_tool_call_id("call_weather_01")
    assert body["messages"] == [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": body["messages"][1]["content"],
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
    make_chat_model: MakeChatModel, emulator: Emulator, mode: str
) -> None:
    history = [SystemMessage("Be brief."), QUESTION, CUT, FOLLOW_UP]
    message = run(make_chat_model(), mode, history)
    assert message.content == "You said: And what should I wear?"
    [body] = sent(emulator)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "user", "content": "And what should I wear?"},
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_trailing_assistant_message_is_refused_before_any_request(
    make_chat_model: MakeChatModel, emulator: Emulator, mode: str
) -> None:
    with pytest.raises(ModelsLabInvalidConversationError) as info:
        run(make_chat_model(), mode, [QUESTION, AIMessage("It is sunny.")])
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, ValueError)
    assert "Expected last role User or Tool (or Assistant with prefix True)" in str(info.value)
    assert sent(emulator) == []


@pytest.mark.parametrize("mode", ["invoke", "astream"])
def test_other_models_get_the_conversation_as_built(
    make_chat_model: MakeChatModel, emulator: Emulator, mode: str
) -> None:
    run(make_chat_model(model=LLAMA), mode, [QUESTION, CALL, RESULT, CUT, FOLLOW_UP])
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
    make_chat_model: MakeChatModel, emulator: Emulator, host: int, mode: str
) -> None:
    system, question = rag_prompt(30_000)
    served = emulator_context(host, system, question)
    llm = make_chat_model(f"served-context;tokens={served}")
    message = run(llm, mode, [SystemMessage(system), HumanMessage(question)])
    assert message.content == f"You said: {RAG_QUESTION}"
    assert "Let me check that once more." in message.additional_kwargs["reasoning_content"]
    assert len(sent(emulator)) == 1  # no refusal


def test_three_calls_on_a_40000_host_cost_one_refusal(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    llm = make_chat_model("served-context;tokens=40000")
    for mode in ("invoke", "stream", "ainvoke", "astream"):
        assert run(llm, mode, [HumanMessage("Hi")]).content == "You said: Hi"
    statuses = [r.status for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert statuses == [400, 200, 200, 200, 200]
