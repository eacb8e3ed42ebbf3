"""The vLLM host profile over real sockets: mistral-common's refusals with vLLM's exact bodies,
the tool-call id rule, and profile selection by constructor and by scenario header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelslab_emulator import Emulator
from tests.support.emulator_cli import emulator_cli
from tests.support.stdlib_http import KEY, LLAMA, MAGISTRAL, call

VLLM = "profile;name=vllm"
OPENROUTER = "profile;name=openrouter"


@pytest.fixture(scope="module")
def vllm_emu() -> Iterator[Emulator]:
    with Emulator(profile="vllm") as emulator:
        yield emulator


def refusal(message: str) -> dict[str, Any]:
    """vLLM's body for a request mistral-common refused."""
    return {
        "object": "error",
        "message": message,
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }


def send(
    emu: Emulator, messages: list[dict[str, Any]], scenario: str | None = VLLM, **body: Any
) -> tuple[int, Any]:
    body = {"model_id": MAGISTRAL, "messages": messages, "max_tokens": 2000, **body}
    resp = call(emu, "/chat/completions", body, scenario=scenario)
    return resp.status, resp.json()


def tool_call(call_id: str, name: str = "get_weather") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def tool_turn(*ids: str, result_ids: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """``[user, assistant(tool_calls), tool...]``: a valid conversation ending on results."""
    results = result_ids if result_ids is not None else ids
    return [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [tool_call(i) for i in ids]},
        *({"role": "tool", "tool_call_id": i, "content": "sunny"} for i in results),
    ]


USER_AFTER_TOOL = [*tool_turn("abcDEF123"), {"role": "user", "content": "And tomorrow?"}]
TRAILING = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


def empty_assistant(**fields: Any) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", **fields},
        {"role": "user", "content": "Hi again"},
    ]


def test_user_right_after_tool_is_refused(emu: Emulator) -> None:
    assert send(emu, USER_AFTER_TOOL) == (
        400,
        refusal("Unexpected role 'user' after role 'tool'"),
    )


def test_tool_right_after_user_is_refused(emu: Emulator) -> None:
    messages = [{"role": "user", "content": "Hi"}, {"role": "tool", "tool_call_id": "abcDEF123"}]
    assert send(emu, messages) == (400, refusal("Unexpected role 'tool' after role 'user'"))


@pytest.mark.parametrize(
    "fields",
    [
        {"content": ""},
        {"content": None},
        {"content": []},
        {},
        {"content": "", "tool_calls": []},
        {"content": None, "tool_calls": None},
    ],
    ids=["empty", "null", "empty-list", "absent", "empty-and-no-calls", "null-and-null-calls"],
)
def test_an_assistant_message_with_neither_content_nor_tool_calls_is_refused(
    emu: Emulator, fields: dict[str, Any]
) -> None:
    assert send(emu, empty_assistant(**fields)) == (
        400,
        refusal("Assistant message must have either content or tool_calls, but not none."),
    )


def test_an_assistant_message_with_only_whitespace_counts_as_content(emu: Emulator) -> None:
    status, body = send(emu, empty_assistant(content=" "))
    assert status == 200, body


def test_a_trailing_assistant_message_is_refused_unless_it_is_a_prefix(emu: Emulator) -> None:
    assert send(emu, TRAILING) == (
        400,
        refusal(
            "Expected last role User or Tool (or Assistant with prefix True) for serving but "
            "got assistant"
        ),
    )
    status, body = send(emu, [TRAILING[0], {**TRAILING[1], "prefix": True}])
    assert status == 200, body
    prefix_first = [{**TRAILING[1], "prefix": True}, *empty_assistant(content="ok")]
    assert send(emu, [TRAILING[0], *prefix_first]) == (
        400,
        refusal("Assistant message with prefix True must be last message"),
    )


def test_a_ten_character_id_keeps_its_last_nine_and_is_accepted(emu: Emulator) -> None:
    status, body = send(emu, tool_turn("Xabc123def"))
    assert status == 200, body
    assert "get_weather returned" in body["choices"][0]["message"]["content"]


def test_ids_that_end_differently_are_kept_apart(emu: Emulator) -> None:
    status, body = send(emu, tool_turn("call_abc123xyz1", "call_abc123xyz2"))
    assert status == 200, body


def test_ids_of_one_turn_that_end_alike_collide(emu: Emulator) -> None:
    assert send(emu, tool_turn("first_abc123xyz", "second_abc123xyz")) == (
        400,
        refusal("Duplicate tool call id abc123xyz in assistant message"),
    )


@pytest.mark.parametrize(
    ("call_id", "kept"),
    [("abc", "abc"), ("call_abc12345", "_abc12345"), ("call-1234-5678", "1234-5678")],
)
def test_an_id_whose_kept_part_is_not_nine_alphanumerics_is_refused(
    emu: Emulator, call_id: str, kept: str
) -> None:
    assert send(emu, tool_turn(call_id)) == (
        400,
        refusal(f"Tool call id was {kept} but must be a-z, A-Z, 0-9, with a length of 9."),
    )


def test_results_must_pair_with_the_calls(emu: Emulator) -> None:
    assert send(emu, tool_turn("abcDEF123", result_ids=("zzzZZZ999",))) == (
        400,
        refusal("Unexpected tool call id zzzZZZ999 in tool results"),
    )
    missing = [*tool_turn("abcDEF123", "abcDEF456", result_ids=("abcDEF123",))]
    missing.append({"role": "assistant", "content": "Sunny."})
    missing.append({"role": "user", "content": "Thanks"})
    assert send(emu, missing) == (
        400,
        refusal("Not the same number of function calls and responses"),
    )


def test_a_valid_agent_conversation_is_answered(emu: Emulator) -> None:
    messages = [
        {"role": "system", "content": "A user will ask you to solve a task."},
        *tool_turn("abcDEF123"),
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "Thanks"},
    ]
    status, body = send(emu, messages)
    assert status == 200, body


def test_the_openrouter_profile_accepts_every_such_conversation(emu: Emulator) -> None:
    for messages in (USER_AFTER_TOOL, TRAILING, empty_assistant(content="")):
        for scenario in (None, OPENROUTER):
            status, body = send(emu, messages, scenario=scenario)
            assert status == 200, body
            assert body["id"].startswith("gen-")


def test_other_models_are_not_validated_by_mistral_common(emu: Emulator) -> None:
    status, body = send(emu, USER_AFTER_TOOL, model_id=LLAMA)
    assert status == 200, body
    assert body["id"].startswith("chatcmpl-")


def test_the_constructor_selects_the_profile_and_the_header_overrides_it(
    vllm_emu: Emulator,
) -> None:
    assert vllm_emu.profile == "vllm"
    assert send(vllm_emu, USER_AFTER_TOOL, scenario=None)[0] == 400
    status, body = send(vllm_emu, USER_AFTER_TOOL, scenario=OPENROUTER)
    assert status == 200, body


def test_an_unknown_profile_is_refused(emu: Emulator) -> None:
    status, body = send(emu, TRAILING, scenario="profile;name=tgi")
    assert status == 400
    assert "profile" in body["message"]
    status, body = send(emu, TRAILING, scenario="profile;name=vllm;context_error=newest")
    assert status == 400
    assert "context_error" in body["message"]
    with pytest.raises(ValueError, match="profile"):
        Emulator(profile="tgi")


def test_the_key_reaches_no_refusal(emu: Emulator) -> None:
    resp = call(
        emu,
        "/chat/completions",
        {"model_id": MAGISTRAL, "messages": USER_AFTER_TOOL, "key": KEY},
        scenario=VLLM,
    )
    assert resp.status == 400
    assert KEY.encode() not in resp.body


def test_the_cli_flag_selects_the_profile() -> None:
    with emulator_cli("--profile", "vllm") as emu:
        assert send(emu, USER_AFTER_TOOL, scenario=None) == (
            400,
            refusal("Unexpected role 'user' after role 'tool'"),
        )
    with emulator_cli() as emu:
        assert send(emu, USER_AFTER_TOOL, scenario=None)[0] == 200
