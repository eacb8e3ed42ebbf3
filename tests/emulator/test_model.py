"""The scripted model: echo, think, limits, tools, JSON modes, usage."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from modelslab_emulator import Emulator
from tests.support.stdlib_http import LLAMA, MAGISTRAL, ROOMY, THOUGHT_TOKENS, chat, thought, user
from tests.support.tool_specs import INTEGER, STRING, function_tool

THINK = "<think>\n{thought}\n</think>\n"
WEATHER = function_tool("get_weather", "Weather for a city", city=STRING, unit={"enum": ["c", "f"]})
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}
MAGIC = function_tool("magic_function", input=INTEGER)


def message(resp_json: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return resp_json["choices"][index]["message"]  # type: ignore[no-any-return]


def test_echo_and_usage(emu: Emulator) -> None:
    body = chat(emu, messages=[{"role": "system", "content": "Be nice"}, *user("Hello big world")])
    data = body.json()
    assert data["id"].startswith("gen-")
    assert data["object"] == "chat.completion"
    assert message(data) == {"role": "assistant", "content": "You said: Hello big world"}
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"] == {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}


def test_list_content_joined(emu: Emulator) -> None:
    parts = [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this"},
    ]
    data = chat(emu, messages=[{"role": "user", "content": parts}]).json()
    assert message(data)["content"] == "You said: look at this"


def test_magistral_thinks_inline(emu: Emulator) -> None:
    data = chat(emu, model_id=MAGISTRAL, messages=user("Hi there"), max_tokens=ROOMY).json()
    assert message(data)["content"] == THINK.format(thought=thought(2)) + "You said: Hi there"
    usage = data["usage"]
    assert usage["completion_tokens"] == THOUGHT_TOKENS + 4
    assert usage["completion_tokens_details"] == {"reasoning_tokens": THOUGHT_TOKENS}


def test_no_max_tokens_means_1000_and_magistral_is_cut_thinking(emu: Emulator) -> None:
    data = chat(emu, model_id=MAGISTRAL, messages=user("Hi there")).json()
    content = message(data)["content"]
    assert content.startswith("<think>\nThe user wrote 2 words.")
    assert "</think>" not in content and "You said" not in content
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 1000
    assert data["usage"]["completion_tokens_details"] == {"reasoning_tokens": 1000}
    # Other models answer in full within the same cap; a long answer is cut at 1000 too.
    assert message(chat(emu, messages=user("short")).json())["content"] == "You said: short"
    long = chat(emu, messages=user("word " * 1200)).json()
    assert long["choices"][0]["finish_reason"] == "length"
    assert long["usage"]["completion_tokens"] == 1000


@pytest.mark.parametrize(
    ("scenario", "field"),
    [("reasoning-field", "reasoning_content"), ("reasoning-openrouter", "reasoning")],
)
def test_reasoning_in_field(emu: Emulator, scenario: str, field: str) -> None:
    data = chat(emu, scenario, model_id=MAGISTRAL, messages=user("Hi"), max_tokens=ROOMY).json()
    msg = message(data)
    assert msg["content"] == "You said: Hi"
    assert msg[field] == thought(1)


def test_max_tokens_truncates_answer(emu: Emulator) -> None:
    data = chat(emu, messages=user("one two three four"), max_tokens=3).json()
    assert message(data)["content"] == "You said: one"
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 3


def test_max_tokens_cuts_inside_think(emu: Emulator) -> None:
    data = chat(emu, model_id=MAGISTRAL, messages=user("hello"), max_tokens=4).json()
    assert message(data)["content"] == "<think>\nThe user wrote 1"
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens_details"] == {"reasoning_tokens": 4}


def test_max_tokens_magistral_answer_cut(emu: Emulator) -> None:
    limit = THOUGHT_TOKENS + 2
    data = chat(emu, model_id=MAGISTRAL, messages=user("a b c"), max_tokens=limit).json()
    assert message(data)["content"] == THINK.format(thought=thought(3)) + "You said:"
    assert data["choices"][0]["finish_reason"] == "length"


def test_stop(emu: Emulator) -> None:
    data = chat(emu, messages=user("alpha beta gamma"), stop=["gamma", "beta"]).json()
    assert message(data)["content"] == "You said: alpha "
    assert data["choices"][0]["finish_reason"] == "stop"
    single = chat(emu, messages=user("alpha beta"), stop="beta").json()
    assert message(single)["content"] == "You said: alpha "


def test_n_choices(emu: Emulator) -> None:
    data = chat(emu, messages=user("hi"), n=3, seed=7, temperature=0.3).json()
    assert [c["index"] for c in data["choices"]] == [0, 1, 2]
    assert {message(data, i)["content"] for i in range(3)} == {"You said: hi"}
    assert data["usage"]["completion_tokens"] == 9


def test_tool_forced(emu: Emulator) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    data = chat(
        emu, messages=user("What's up in 'Lisbon'?"), tools=[WEATHER, TIME], tool_choice=choice
    ).json()
    msg = message(data)
    assert msg["content"] is None
    (call,) = msg["tool_calls"]
    assert call["type"] == "function"
    assert re.fullmatch(r"[A-Za-z0-9]{9}", call["id"])
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Lisbon", "unit": "c"}
    assert data["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_auto_by_name_and_parallel(emu: Emulator) -> None:
    prompt = user("Call get_weather for Paris and get_time for Tokyo")
    data = chat(emu, messages=prompt, tools=[WEATHER, TIME]).json()
    calls = message(data)["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris", "unit": "c"}
    assert len({c["id"] for c in calls}) == 2
    again = chat(emu, messages=prompt, tools=[WEATHER, TIME]).json()
    assert message(again)["tool_calls"][0]["id"] == calls[0]["id"]  # deterministic
    single = chat(emu, messages=prompt, tools=[WEATHER, TIME], parallel_tool_calls=False).json()
    assert [c["function"]["name"] for c in message(single)["tool_calls"]] == ["get_weather"]


def test_tool_auto_without_name_answers(emu: Emulator) -> None:
    data = chat(emu, messages=user("just chat"), tools=[WEATHER]).json()
    assert message(data)["content"] == "You said: just chat"
    none = chat(emu, messages=user("get_weather now"), tools=[WEATHER], tool_choice="none")
    assert "tool_calls" not in message(none.json())


def test_tool_required(emu: Emulator) -> None:
    data = chat(emu, messages=user("anything"), tools=[TIME, WEATHER], tool_choice="required")
    assert [c["function"]["name"] for c in message(data.json())["tool_calls"]] == ["get_time"]


def test_numbers_from_prompt(emu: Emulator) -> None:
    data = chat(emu, messages=user("What is magic_function(3)?"), tools=[MAGIC]).json()
    args = json.loads(message(data)["tool_calls"][0]["function"]["arguments"])
    assert args == {"input": 3}


def test_tool_results_answer(emu: Emulator) -> None:
    prompt = user("Use get_weather and get_time")
    first = message(chat(emu, messages=prompt, tools=[WEATHER, TIME]).json())
    calls = first["tool_calls"]
    results = [
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny, 21C"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": "09:00"},
    ]
    convo = [*prompt, first, *results]
    data = chat(emu, messages=convo, tools=[WEATHER, TIME]).json()
    expected = (
        'Based on the tool results: get_weather returned "sunny, 21C"; get_time returned "09:00".'
    )
    assert message(data)["content"] == expected
    assert data["choices"][0]["finish_reason"] == "stop"
    partial = chat(emu, messages=[*prompt, first, results[0]], tools=[WEATHER, TIME]).json()
    assert [c["function"]["name"] for c in message(partial)["tool_calls"]] == ["get_time"]
    body = {"messages": convo, "tools": [WEATHER, TIME], "max_tokens": ROOMY}
    thinking = chat(emu, model_id=MAGISTRAL, **body).json()
    assert message(thinking)["content"].startswith("<think>\nI have 2 tool results.")
    assert message(thinking)["content"].endswith(expected)


def test_json_object_keys(emu: Emulator) -> None:
    prompt = user("Tell a joke. Return a JSON with 'setup' and 'punchline' keys")
    data = chat(emu, model_id=MAGISTRAL, messages=prompt, response_format={"type": "json_object"})
    content = message(data.json())["content"]
    assert set(json.loads(content)) == {"setup", "punchline"}
    plain = chat(emu, messages=user("hi"), response_format={"type": "json_object"}).json()
    assert json.loads(message(plain)["content"]) == {"answer": "hi"}


PERSON_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Pet": {
            "type": "object",
            "properties": {
                "kind": {"enum": ["cat", "dog"]},
                "age": {"type": "integer", "minimum": 0},
            },
            "required": ["kind", "age"],
        }
    },
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer"},
        "height": {"type": "number"},
        "email": {"type": "string", "format": "email"},
        "nickname": {"anyOf": [{"type": "null"}, {"type": "string"}], "default": None},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "pet": {"$ref": "#/$defs/Pet"},
        "active": {"type": "boolean"},
        "score": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["name", "age", "height", "email", "tags", "pet", "active", "score"],
    "additionalProperties": False,
}


def test_json_schema_valid(emu: Emulator) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Person", "schema": PERSON_SCHEMA}}
    prompt = user("Describe 'Ada', 36 years old, 1.7 m tall, with a 4 year old pet")
    data = chat(emu, model_id=MAGISTRAL, messages=prompt, response_format=fmt).json()
    value = json.loads(message(data)["content"])
    jsonschema.validate(value, PERSON_SCHEMA)
    assert value["name"] == "Ada"
    assert value["age"] == 36
    assert value["height"] == 1.7
    assert value["pet"]["age"] == 4
    assert value["nickname"] is None


def test_tool_arguments_validate(emu: Emulator) -> None:
    tool = {"type": "function", "function": {"name": "register", "parameters": PERSON_SCHEMA}}
    data = chat(emu, messages=user("register someone"), tools=[tool], tool_choice="required")
    args = json.loads(message(data.json())["tool_calls"][0]["function"]["arguments"])
    jsonschema.validate(args, PERSON_SCHEMA)


def test_multiply_numbers_in_order(emu: Emulator) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "multiply",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    }
    data = chat(
        emu, model_id=MAGISTRAL, messages=user("What is 3 times 4? use multiply"), tools=[tool]
    )
    args = json.loads(message(data.json())["tool_calls"][0]["function"]["arguments"])
    assert args == {"a": 3, "b": 4}


def test_other_models_do_not_think(emu: Emulator) -> None:
    for model in ("Qwen-Qwen3-Next-80B-A3B-Instruct", "openai-gpt-oss-20b", LLAMA):
        data = chat(emu, model_id=model, messages=user("yo")).json()
        assert message(data)["content"] == "You said: yo"
        assert "completion_tokens_details" not in data["usage"]


def test_tool_result_with_rewritten_id(emu: Emulator) -> None:
    prompt = user("Use get_time")
    first = message(chat(emu, messages=prompt, tools=[TIME]).json())
    first["tool_calls"][0]["id"] = "abcDEF123"
    result = {"role": "tool", "tool_call_id": "zzzzzzzzz", "content": "noon"}
    data = chat(emu, messages=[*prompt, first, result], tools=[TIME]).json()
    assert message(data)["content"] == 'Based on the tool results: get_time returned "noon".'
