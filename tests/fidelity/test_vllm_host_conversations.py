"""Conversations a vLLM-served Magistral host (Mistral tokenizer mode) refuses when sent as
built, answered by both adapters in every mode, with nothing lost on the way; a trailing
assistant message refused before sending. The same tests run on the OpenRouter profile (the
emulator's default), where the client behaves the same."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from modelslab_emulator import Emulator
from tests.support.scenarios import unique
from tests.support.stdlib_http import MAGISTRAL, call
from tests.support.weather_agent import QUESTION

from .sides import MODES, Side
from .turns import (
    FOLLOW_UP,
    Turn,
    assert_nothing_lost,
    assistant,
    one_call,
    parallel,
    system,
    user,
    wire,
)

#: The host profiles, chosen per request: the emulator's default (OpenRouter-routed), and vLLM.
VLLM = "profile;name=vllm"
PROFILES = {"openrouter": "profile;name=openrouter", "vllm": VLLM}
USER_AFTER_TOOL = "Unexpected role 'user' after role 'tool'"
SYSTEM_AFTER_ASSISTANT = "Unexpected role 'system' after role 'assistant'"
SYSTEM_AFTER_TOOL = "Unexpected role 'system' after role 'tool'"
#: A history-aware RAG prompt's retrieved context, sent as a system message after the history.
CONTEXT = "Answer from these passages only: Paris is sunny today; Lisbon is cloudy."
EMPTY_ASSISTANT = "Assistant message must have either content or tool_calls, but not none."
TRAILING = (
    "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant"
)


def _bad_id(kept: str) -> str:
    return f"Tool call id was {kept} but must be a-z, A-Z, 0-9, with a length of 9."


#: Conversations written as users write them, and what the vLLM host says when they are sent
#: unshaped (None: it takes them, after keeping the ids' last 9 characters).
WRITTEN: dict[str, tuple[list[Turn], str | None]] = {
    "second-turn-by-hand": (
        [*parallel("call_weather_01", "call_time_02"), user(FOLLOW_UP)],
        USER_AFTER_TOOL,
    ),
    "ids-openai-long": (
        parallel("call_Xk3f9QpL2mN7vR4sT8wY1zA6", "call_Bq5h2RtK9pW3xN6vM1sL4yC7"),
        None,
    ),
    "ids-uuid": (
        parallel("5f0c2a9e-3b1d-4c7e-9a8f-1d2e3f4a5b6c", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        None,
    ),
    "ids-long-with-dashes": (
        parallel("run-42-get_weather-call-1", "run-42-get_time-call-2"),
        _bad_id("er-call-1"),
    ),
    "ids-sharing-the-last-9": (
        parallel("toolu_weather_abcdef123", "toolu_time_abcdef123"),
        "Duplicate tool call id abcdef123 in assistant message",
    ),
    "ids-sharing-a-prefix": (
        parallel("call_weather_0001", "call_weather_0002"),
        _bad_id("ther_0001"),
    ),
    "ids-short-numbered": (parallel("call_1", "call_2"), _bad_id("call_1")),
    "rag-context-after-history": (
        [
            system("You are a travel assistant."),
            user(QUESTION),
            assistant("It is sunny in Paris."),
            system(CONTEXT),
            user(FOLLOW_UP),
        ],
        SYSTEM_AFTER_ASSISTANT,
    ),
    "rag-context-after-a-tool-result": (
        [*one_call("call_weather_01", "Paris"), system(CONTEXT), user(FOLLOW_UP)],
        SYSTEM_AFTER_TOOL,
    ),
    "an-id-reused-next-turn": (
        [
            user(QUESTION),
            *one_call("call_1", "Paris"),
            assistant("It is sunny in Paris."),
            user("And in Lisbon?"),
            *one_call("call_1", "Lisbon"),
        ],
        _bad_id("call_1"),
    ),
}
BUILT = ("agent-second-turn", "answer-cut-in-reasoning")


def build(
    side: Side, case: str, model: Any, scenario: str, mode: str
) -> tuple[list[Any], str | None]:
    """The case's history in the framework's own messages, and the host's refusal of it."""
    if case == "agent-second-turn":
        first = side.agent_turn(model, QUESTION)
        assert side.turns(first)[-1].role == "tool"  # the agent stopped on its tool's result
        return [*first, *side.messages([user(FOLLOW_UP)])], USER_AFTER_TOOL
    if case == "answer-cut-in-reasoning":
        # The package's own empty message: an answer cut inside Magistral's reasoning, the
        # reasoning kept out of history (the default).
        cut = side.ask(side.model(scenario, max_tokens=40), mode, side.messages([user(QUESTION)]))
        assert (cut.text, cut.tool_calls, cut.finish) == ("", 0, "length") and cut.reasoning
        history = [*side.messages([user(QUESTION)]), cut.message, *side.messages([user(FOLLOW_UP)])]
        return history, EMPTY_ASSISTANT
    turns, refusal = WRITTEN[case]
    return side.messages(turns), refusal


def assert_host_answers_unshaped(
    emulator: Emulator, turns: Sequence[Turn], refusal: str | None
) -> None:
    """What the vLLM host says to the conversation sent as built (ids as given)."""
    body = {"model_id": MAGISTRAL, "messages": wire(turns), "max_tokens": 2000}
    reply = call(emulator, "/chat/completions", body, scenario=unique(VLLM))
    if refusal is None:
        assert reply.status == 200, reply.json()
    else:
        assert (reply.status, reply.json()["message"]) == (400, refusal)


def expected_answer(turns: Sequence[Turn]) -> str:
    """The emulator's answer: the last user text echoed, or the results since it, by tool."""
    if turns[-1].role == "user":
        return f"You said: {turns[-1].text}"
    last_user = max(i for i, t in enumerate(turns) if t.role == "user")
    names: dict[str, str] = {}
    results: list[str] = []
    for turn in turns[last_user + 1 :]:
        names.update((c.id, c.name) for c in turn.calls)
        if turn.role == "tool":
            results.append(f'{names[str(turn.call_id)]} returned "{turn.text}"')
    return "Based on the tool results: " + "; ".join(results) + "."


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", [*BUILT, *WRITTEN])
def test_a_conversation_the_host_refuses_unshaped_is_answered(
    side: Side, emulator: Emulator, case: str, mode: str, profile: str
) -> None:
    scenario = PROFILES[profile]
    model = side.model(scenario)
    history, refusal = build(side, case, model, scenario, mode)
    turns = side.turns(history)
    if profile == "vllm":
        assert_host_answers_unshaped(emulator, turns, refusal)
    start = len(side.sent(emulator, model))
    reply = side.ask(model, mode, history, tools=case == "agent-second-turn")
    [request] = side.sent(emulator, model)[start:]  # one request, answered: no refusal, no retry
    assert request.status == 200
    assert (reply.text, reply.finish) == (expected_answer(turns), "stop")
    assert_nothing_lost(turns, request.body["messages"])


#: Conversations that end on an assistant message: Mistral's tokenizer refuses them whatever
#: the shaping, so the adapters refuse them first, with a typed error that says why.
ENDING_ON_ASSISTANT: dict[str, list[Turn]] = {
    "after-an-answer": [user(QUESTION), assistant("It is sunny in Paris.")],
    "after-tool-results": [
        user(QUESTION),
        *one_call("call_weather_01", "Paris"),
        assistant("It is sunny in Paris."),
    ],
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ENDING_ON_ASSISTANT)
def test_a_trailing_assistant_message_is_refused_before_sending(
    side: Side, emulator: Emulator, case: str, mode: str, profile: str
) -> None:
    turns = ENDING_ON_ASSISTANT[case]
    if profile == "vllm":
        assert_host_answers_unshaped(emulator, turns, TRAILING)
    model = side.model(PROFILES[profile])
    with pytest.raises(side.refusal) as info:
        side.ask(model, mode, side.messages(turns))
    assert isinstance(info.value, ValueError)
    assert TRAILING in str(info.value)
    assert side.sent(emulator, model) == []  # refused before any request
