"""Scenarios refuse-json-schema / refuse-json-mode, and JSON mode told a schema, on the wire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_emulator import Emulator
from tests.support.stdlib_http import LLAMA, MAGISTRAL, call, chat, sse_data, user

REFUSED = {"status": "error", "message": "Provider returned error"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "Person", "schema": SCHEMA}}
JSON_OBJECT = {"type": "json_object"}
TOOL = {"type": "function", "function": {"name": "Person", "parameters": SCHEMA}}
PROMPT = 'The person is "Ada" and she is 36'


def _told(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": f"Answer in JSON. Schema: {json.dumps(schema)} Thanks."},
        *user(PROMPT),
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_refuse_json_schema_refuses_only_json_schema(emu: Emulator, stream: bool) -> None:
    refused = chat(emu, "refuse-json-schema", messages=user(PROMPT), response_format=JSON_SCHEMA)
    assert (refused.status, refused.json()) == (200, REFUSED)
    if stream:
        resp = call(
            emu,
            "/chat/completions",
            {
                "model_id": LLAMA,
                "messages": user(PROMPT),
                "response_format": JSON_SCHEMA,
                "stream": True,
            },
            scenario="refuse-json-schema",
        )
        assert resp.status == 200 and resp.headers["content-type"].startswith("text/event-stream")
        assert [json.loads(d) for d in sse_data(resp.body) if d != "[DONE]"] == [REFUSED]
    ok = chat(emu, "refuse-json-schema", messages=_told(SCHEMA), response_format=JSON_OBJECT)
    assert ok.status == 200
    assert json.loads(ok.json()["choices"][0]["message"]["content"]) == {"name": "Ada", "age": 36}
    plain = chat(emu, "refuse-json-schema", messages=user("hello"))
    assert plain.json()["choices"][0]["message"]["content"] == "You said: hello"


def test_refuse_json_mode_refuses_both_formats_but_not_tools(emu: Emulator) -> None:
    for response_format in (JSON_SCHEMA, JSON_OBJECT):
        resp = chat(emu, "refuse-json-mode", messages=user(PROMPT), response_format=response_format)
        assert (resp.status, resp.json()) == (200, REFUSED)
    forced = {"type": "function", "function": {"name": "Person"}}
    resp = chat(emu, "refuse-json-mode", messages=user(PROMPT), tools=[TOOL], tool_choice=forced)
    call_ = resp.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(call_["arguments"]) == {"name": "Ada", "age": 36}


@pytest.mark.parametrize(
    ("scenario", "status", "body"),
    [
        ("refuse-json-schema;status=400", 400, REFUSED),
        (
            "refuse-json-schema;status=422;message=json_schema is not supported",
            422,
            {"status": "error", "message": "json_schema is not supported"},
        ),
        (
            "refuse-json-schema;status=400, openai-error",
            400,
            {
                "error": {
                    "message": "Provider returned error",
                    "type": "invalid_request_error",
                    "code": "400",
                }
            },
        ),
    ],
)
def test_refusal_status_message_and_shape(
    emu: Emulator, scenario: str, status: int, body: dict[str, Any]
) -> None:
    resp = chat(emu, scenario, messages=user(PROMPT), response_format=JSON_SCHEMA)
    assert (resp.status, resp.json()) == (status, body)


def test_refusal_bad_status_is_a_400(emu: Emulator) -> None:
    resp = chat(
        emu, "refuse-json-schema;status=302", messages=user("x"), response_format=JSON_SCHEMA
    )
    assert resp.status == 400 and "status" in resp.json()["message"]


def test_refused_requests_are_logged(emu: Emulator) -> None:
    emu.clear()
    chat(emu, "refuse-json-mode", messages=user(PROMPT), response_format=JSON_SCHEMA)
    chat(emu, "refuse-json-mode", messages=user(PROMPT), response_format=JSON_OBJECT)
    assert [(r.status, r.body["response_format"]["type"]) for r in emu.requests] == [
        (200, "json_schema"),
        (200, "json_object"),
    ]


def test_json_mode_follows_a_schema_told_in_the_system_message(emu: Emulator) -> None:
    resp = chat(emu, model_id=MAGISTRAL, messages=_told(SCHEMA), response_format=JSON_OBJECT)
    content = resp.json()["choices"][0]["message"]["content"]
    assert json.loads(content) == {"name": "Ada", "age": 36}  # no think block in JSON mode
    # without a schema in a system message, JSON mode keeps its quoted-keys answer
    resp = chat(emu, messages=user('Give "setup" and "punchline"'), response_format=JSON_OBJECT)
    answer = json.loads(resp.json()["choices"][0]["message"]["content"])
    assert set(answer) == {"setup", "punchline"}
    # a JSON object without "properties" is not a schema
    told = [{"role": "system", "content": 'Reply like {"a": 1}.'}, *user("hello")]
    resp = chat(emu, messages=told, response_format=JSON_OBJECT)
    assert json.loads(resp.json()["choices"][0]["message"]["content"]) == {"answer": "hello"}
