"""Both adapters against a host that applies Mistral's tokenizer rules and serves 40,000 or
40,960 tokens: conversations shaped (nothing lost), a trailing assistant refused before
sending, long prompts answered, one refusal per host. Every mode: sync, async, streamed and
async streamed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import BRIDGE_TEXT, InvalidInputError, normalize_tool_call_id
from tests.support.long_prompts import RAG_QUESTION, emulator_context, rag_prompt
from tests.support.models import PLAIN_MODEL

from .sides import MODES, Side
from .turns import FOLLOW_UP, Call, Turn, assistant, system, tool, user

QUESTION = user("What is the weather in Paris?")
CALL = assistant("", Call("call_weather_01", "get_weather", {"city": "Paris"}))
RESULT = tool("call_weather_01", "sunny, 21 C")
# An answer cut inside its reasoning, reasoning kept out of history: no content, no calls.
CUT = Turn("assistant", reasoning="Let me think about")


def sent(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests if r.path.endswith("/chat/completions")]


def ask(side: Side, mode: str, turns: list[Turn], **fields: Any) -> str:
    reply = side.ask(side.model(**fields), mode, side.messages(turns))
    return reply.text


@pytest.mark.parametrize("mode", MODES)
def test_a_user_after_a_tool_result_is_answered_with_the_bridge(
    side: Side, emulator: Emulator, mode: str
) -> None:
    reply = side.ask(side.model(), mode, side.messages([QUESTION, CALL, RESULT, user(FOLLOW_UP)]))
    assert reply.text and reply.finish == "stop"
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
    side: Side, emulator: Emulator, mode: str
) -> None:
    history = [system("Be brief."), QUESTION, CUT, user(FOLLOW_UP)]
    assert ask(side, mode, history) == "You said: And what should I wear?"
    [body] = sent(emulator)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "user", "content": "And what should I wear?"},
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_trailing_assistant_message_is_refused_before_any_request(
    side: Side, emulator: Emulator, mode: str
) -> None:
    with pytest.raises(side.refusal) as info:
        ask(side, mode, [QUESTION, assistant("It is sunny.")])
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, ValueError)
    assert "Expected last role User or Tool (or Assistant with prefix True)" in str(info.value)
    assert sent(emulator) == []


@pytest.mark.parametrize("mode", ["sync", "astream"])
def test_other_models_get_the_conversation_as_built(
    side: Side, emulator: Emulator, mode: str
) -> None:
    ask(side, mode, [QUESTION, CALL, RESULT, CUT, user(FOLLOW_UP)], model=PLAIN_MODEL)
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
    side: Side, emulator: Emulator, host: int, mode: str
) -> None:
    prompt, question = rag_prompt(30_000)
    served = emulator_context(host, prompt, question)
    model = side.model(f"served-context;tokens={served}")
    reply = side.ask(model, mode, side.messages([system(prompt), user(question)]))
    assert reply.text == f"You said: {RAG_QUESTION}"
    assert "Let me check that once more." in reply.reasoning
    assert len(sent(emulator)) == 1  # no refusal


def test_three_calls_on_a_40000_host_cost_one_refusal(side: Side, emulator: Emulator) -> None:
    model = side.model("served-context;tokens=40000")
    for mode in ("sync", "stream", "async", "astream"):
        assert side.ask(model, mode, side.messages([user("Hi")])).text == "You said: Hi"
    statuses = [r.status for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert statuses == [400, 200, 200, 200, 200]
