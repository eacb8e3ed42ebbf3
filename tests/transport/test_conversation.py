"""Mistral-family conversations: shaped so Mistral's own validator accepts them, nothing lost."""

from __future__ import annotations

import doctest
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mistral_common.exceptions import MistralCommonException
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.protocol.instruct.validator import MistralRequestValidatorV3, ValidationMode

import modelslab_transport as mt
from modelslab_transport import (
    BRIDGE_TEXT,
    InvalidConversationError,
    InvalidInputError,
    build_chat_payload,
    model_info,
    normalize_tool_call_id,
    shape_conversation,
)
from tests.support.transport_calls import LLAMA, MAGISTRAL

# mistral-common's strictest serving rules (v3 tokenizers: content and tool calls exclusive).
VALIDATOR = MistralRequestValidatorV3(ValidationMode.serving)


def validate(messages: Sequence[Mapping[str, Any]]) -> None:
    """Raise as a vLLM host in `mistral` tokenizer mode would, before generating."""
    VALIDATOR.validate_request(ChatCompletionRequest(model="m", messages=list(messages)))
    # Older mistral-common (still pinned by vLLM releases) also refuses a user after a tool.
    for before, after in itertools.pairwise(messages):
        if before["role"] == "tool" and after["role"] == "user":
            raise MistralCommonException("Unexpected role 'user' after role 'tool'")


def call(call_id: str, name: str = "get_weather") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


USER = {"role": "user", "content": "Weather in Paris?"}
CALLS = {"role": "assistant", "content": None, "tool_calls": [call("abc123XYZ")]}
RESULT = {"role": "tool", "tool_call_id": "abc123XYZ", "content": "sunny, 21 C"}
FOLLOW_UP = {"role": "user", "content": "And in Rome?"}
EMPTY = {"role": "assistant", "content": ""}
ANSWER = {"role": "assistant", "content": "It is sunny."}


def test_docstring_examples() -> None:
    result = doctest.testmod(mt.models._conversation)
    assert result.attempted > 0 and result.failed == 0


def test_the_catalogue_marks_the_mistral_family() -> None:
    marked = {info.id for info in mt.MODELS if info.conversation == "mistral"}
    assert marked == {MAGISTRAL, "mistralai-mistral-small-3.1-24b-instruct"}
    assert model_info(LLAMA) is not None and model_info(LLAMA).conversation == "any"  # type: ignore[union-attr]


def test_user_after_tool_gets_the_bridge_and_keeps_everything() -> None:
    conversation = [USER, CALLS, RESULT, FOLLOW_UP]
    with pytest.raises(MistralCommonException, match="after role 'tool'"):
        validate(conversation)
    shaped = shape_conversation(MAGISTRAL, conversation)
    validate(shaped)
    assert shaped == [USER, CALLS, RESULT, {"role": "assistant", "content": BRIDGE_TEXT}, FOLLOW_UP]
    assert BRIDGE_TEXT == "I have processed the tool results."
    assert conversation == [USER, CALLS, RESULT, FOLLOW_UP]  # the caller's list is not changed


@pytest.mark.parametrize("after", ["assistant", "tool"])
def test_a_system_message_after_an_answer_moves_up_among_the_leading_ones(after: str) -> None:
    # A history-aware RAG prompt: history, the retrieved context as a system message, the
    # question. mistral-common refuses system after assistant or tool; the message moves, whole,
    # to the end of the leading system messages (order among system messages kept).
    lead = {"role": "system", "content": "You are a travel assistant."}
    context = {"role": "system", "content": "Answer from these passages: Paris is sunny."}
    history = [USER, CALLS, RESULT] if after == "tool" else [USER, ANSWER]
    conversation = [lead, *history, context, FOLLOW_UP]
    with pytest.raises(MistralCommonException, match="Unexpected role 'system'"):
        validate(conversation)
    shaped = shape_conversation(MAGISTRAL, conversation)
    validate(shaped)
    assert shaped[:2] == [lead, context]
    assert [m for m in shaped if m["role"] != "system" and m.get("content") != BRIDGE_TEXT] == [
        *history,
        FOLLOW_UP,
    ]
    assert shape_conversation(LLAMA, conversation) is conversation  # other models: as given


def test_a_system_message_after_a_user_message_stays_where_it_is() -> None:
    note = {"role": "system", "content": "Answer in French."}
    conversation = [USER, note, ANSWER, FOLLOW_UP]
    validate(conversation)
    assert shape_conversation(MAGISTRAL, conversation) is conversation


@pytest.mark.parametrize(
    ("empty", "refused"),
    [
        (EMPTY, True),
        ({"role": "assistant", "content": None}, True),
        ({"role": "assistant", "content": []}, True),
        # Accepted by mistral-common (a non-empty list), but it holds nothing either.
        ({"role": "assistant", "content": [{"type": "text", "text": ""}], "tool_calls": []}, False),
    ],
)
def test_an_empty_assistant_message_is_dropped(empty: dict[str, Any], refused: bool) -> None:
    # An answer cut inside its reasoning, reasoning kept out of history: nothing to keep.
    conversation = [USER, empty, FOLLOW_UP]
    if refused:
        with pytest.raises(MistralCommonException):
            validate(conversation)
    shaped = shape_conversation(MAGISTRAL, conversation)
    validate(shaped)
    assert shaped == [USER, FOLLOW_UP]


def test_an_empty_assistant_between_a_tool_result_and_a_user_becomes_the_bridge() -> None:
    shaped = shape_conversation(MAGISTRAL, [USER, CALLS, RESULT, EMPTY, FOLLOW_UP])
    validate(shaped)
    assert shaped[3] == {"role": "assistant", "content": BRIDGE_TEXT} and len(shaped) == 5


@pytest.mark.parametrize(
    "conversation",
    [[USER, ANSWER], [USER, CALLS], [USER, CALLS, RESULT, ANSWER], [USER, ANSWER, EMPTY]],
)
def test_a_trailing_assistant_message_is_refused_before_sending(
    conversation: list[dict[str, Any]],
) -> None:
    with pytest.raises(MistralCommonException):
        validate(conversation)
    with pytest.raises(InvalidConversationError) as info:
        build_chat_payload(MAGISTRAL, conversation)
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert "Expected last role User or Tool (or Assistant with prefix True)" in message
    assert "ends on an assistant message" in message and "End it on a user message" in message


def test_a_trailing_assistant_marked_prefix_is_sent_as_the_caller_asked() -> None:
    prefix = {"role": "assistant", "content": "Paris is", "prefix": True}
    assert shape_conversation(MAGISTRAL, [USER, prefix]) == [USER, prefix]


def test_only_empty_assistant_messages_is_refused() -> None:
    with pytest.raises(InvalidConversationError, match="only empty assistant"):
        shape_conversation(MAGISTRAL, [EMPTY])


def test_other_models_get_the_conversation_unchanged_byte_for_byte() -> None:
    conversation = [USER, {**CALLS, "tool_calls": [call("call_1")]}, RESULT, EMPTY, FOLLOW_UP]
    assert shape_conversation(LLAMA, conversation) is conversation
    body = build_chat_payload(LLAMA, conversation)
    assert json.dumps(body["messages"]) == json.dumps(conversation)
    assert build_chat_payload(LLAMA, [USER, ANSWER])["messages"] == [USER, ANSWER]
    valid = [USER, CALLS, RESULT]
    assert shape_conversation(MAGISTRAL, valid) is valid  # already valid: the same list


def test_tool_call_ids_become_nine_alphanumerics_without_collisions() -> None:
    # Ids sharing a long prefix, or the last 9 characters vLLM keeps, stay distinct.
    ids = [f"call_{n:04d}_shared_suffix_xyz" for n in range(200)]
    ids += [f"shared_prefix_{n:04d}" for n in range(200)]
    ids += [f"toolu_{'0' * 20}{n}" for n in range(200)]
    calls = {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}
    results = [{"role": "tool", "tool_call_id": i, "content": f"r{n}"} for n, i in enumerate(ids)]
    shaped = shape_conversation(MAGISTRAL, [USER, calls, *results])
    validate(shaped)
    wire = [c["id"] for c in shaped[1]["tool_calls"]]
    assert len(set(wire)) == len(ids)
    assert [m["tool_call_id"] for m in shaped[2:]] == wire  # each result keeps its call's id
    assert wire == [normalize_tool_call_id(i) for i in ids]
    assert normalize_tool_call_id("abc123XYZ") == "abc123XYZ"  # server-issued ids round-trip


_ROLES = st.sampled_from(["user", "assistant", "empty", "calls"])


@given(st.lists(_ROLES, min_size=1, max_size=12), st.booleans())
def test_any_conversation_is_shaped_valid_or_refused_and_nothing_is_lost(
    roles: list[str], end_on_user: bool
) -> None:
    conversation: list[dict[str, Any]] = [USER]  # what a chat starts with
    for n, role in enumerate([*roles, "user"] if end_on_user else roles):
        if role == "empty":
            conversation.append({"role": "assistant", "content": ""})
        elif role == "calls":
            ids = [f"call_{n}_a", f"call_{n}_b"]
            conversation.append(
                {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}
            )
            conversation += [{"role": "tool", "tool_call_id": i, "content": f"t{i}"} for i in ids]
        else:
            conversation.append({"role": role, "content": f"{role} {n}"})
    try:
        shaped = shape_conversation(MAGISTRAL, conversation)
    except InvalidConversationError:
        last = [m for m in conversation if m["content"] or m.get("tool_calls")]
        assert not last or last[-1]["role"] == "assistant"
        return
    validate(shaped)
    kept = [m for m in shaped if m.get("content") != BRIDGE_TEXT]
    given_ = [m for m in conversation if m["content"] or m.get("tool_calls")]
    assert [m.get("content") for m in kept] == [m.get("content") for m in given_]
