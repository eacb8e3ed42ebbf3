"""The issue-10 scenarios as seen on the wire: upstream error shapes, odd 200s, queued streams,
x-api-key and the documented ranges (standard library only, no client packages)."""

from __future__ import annotations

import json
import time

import pytest

from modelslab_emulator import Emulator
from tests.support.scenarios import unique
from tests.support.stdlib_http import KEY, LLAMA, call, chat, dechunk, raw_exchange, sse_data, user


def stream_events(emu: Emulator, scenario: str) -> list[str]:
    body = {"model_id": LLAMA, "stream": True, "messages": user("one two three four five")}
    resp = call(emu, "/chat/completions", body, scenario=scenario)
    assert resp.status == 200
    return sse_data(resp.body)


def test_finish_error_ends_the_stream_with_finish_reason_error(emu: Emulator) -> None:
    events = stream_events(emu, "finish-error;after=2")
    last = json.loads(events[-2])
    assert events[-1] == "[DONE]"
    assert last["choices"][0]["finish_reason"] == "error" and "error" not in last
    assert len(events) == 4  # two content chunks, the error finish, [DONE]
    body = chat(emu, "finish-error", messages=user("hi")).json()
    assert body["choices"][0]["finish_reason"] == "error"


@pytest.mark.parametrize(("done", "code"), [("1", 500), ("0", 500), ("1", 400)])
def test_object_error_mid_stream(emu: Emulator, done: str, code: int) -> None:
    events = stream_events(emu, f"object-error-mid-stream;after=3;done={done};code={code}")
    error = json.loads(events[3])
    assert error["object"] == "error" and error["code"] == code
    assert set(error) == {"object", "message", "type", "param", "code"}
    assert events[4:] == (["[DONE]"] if done == "1" else [])


def test_openrouter_error_mid_stream_has_both_markers_and_no_done(emu: Emulator) -> None:
    events = stream_events(emu, "openrouter-error-mid-stream;after=1")
    assert len(events) == 2
    last = json.loads(events[-1])
    assert last["error"]["message"] == "Provider disconnected unexpectedly"
    assert last["choices"][0]["finish_reason"] == "error"


@pytest.mark.parametrize("abort", ["0", "1"])
def test_cut_mid_line_stops_inside_a_data_line(emu: Emulator, abort: str) -> None:
    body = {"model_id": LLAMA, "stream": True, "messages": user("one two three")}
    raw = raw_exchange(
        emu, "/chat/completions", body, scenario=f"cut-mid-line;after=2;abort={abort}"
    )
    text, complete = dechunk(raw)
    assert complete is (abort == "0")
    tail = text.decode().rsplit("\n", 1)[-1]
    assert tail.startswith("data: {") and not tail.endswith("}")


def test_non_json_200_once_then_normal(emu: Emulator) -> None:
    scenario = unique("non-json-200")
    first = chat(emu, scenario, messages=user("hi"))
    assert first.status == 200 and first.body.strip() == b"."
    assert first.headers["content-type"].startswith("application/json")
    assert chat(emu, scenario, messages=user("hi")).json()["choices"]


def test_blank_lines_before_json(emu: Emulator) -> None:
    resp = chat(emu, "blank-lines-200", messages=user("hi"))
    assert resp.body.startswith(b"\n\n") and json.loads(resp.body)["choices"]


def test_status_success_shape(emu: Emulator) -> None:
    assert chat(emu, "status-success", messages=user("hi")).json() == {
        "status": "success",
        "message": "You said: hi",
    }


def test_count_tokens_missing(emu: Emulator) -> None:
    body = {"model": LLAMA, "messages": user("one two")}
    resp = call(emu, "/v1/messages/count_tokens", body, scenario="count-tokens-missing")
    assert resp.status == 200 and "input_tokens" not in resp.json()


@pytest.mark.parametrize("code_str", ["0", "1"])
def test_openrouter_429_puts_the_hint_in_the_body(emu: Emulator, code_str: str) -> None:
    resp = chat(emu, unique(f"openrouter-429;reset=30;code_str={code_str}"), messages=user("x"))
    assert resp.status == 429 and "retry-after" not in resp.headers
    error = resp.json()["error"]
    assert error["code"] == ("429" if code_str == "1" else 429)
    reset_ms = int(error["metadata"]["headers"]["X-RateLimit-Reset"])
    assert 25 < reset_ms / 1000 - time.time() <= 30


def test_comment_keepalive_sends_comments_before_the_first_event(emu: Emulator) -> None:
    body = {"model_id": LLAMA, "stream": True, "messages": user("hi")}
    started = time.monotonic()
    raw = raw_exchange(
        emu, "/chat/completions", body, scenario="comment-keepalive;count=3;delay=0.1"
    )
    text, complete = dechunk(raw)
    assert complete and time.monotonic() - started >= 0.3
    head = text.decode().split("data:", 1)[0]
    assert head.count(": OPENROUTER PROCESSING") == 4  # the usual one, then three keep-alives


def test_x_api_key_required_on_v1_endpoints_by_scenario(emu: Emulator) -> None:
    resp = call(emu, "/v1/models", scenario="require-x-api-key")
    assert resp.status == 401 and "x-api-key" in resp.json()["message"]
    headers = {"x-api-key": KEY}
    assert call(emu, "/v1/models", scenario="require-x-api-key", headers=headers).status == 200
    # chat/completions does not declare x-api-key: Bearer alone is enough there.
    assert chat(emu, "require-x-api-key", messages=user("hi")).status == 200


def test_differing_x_api_key_and_bearer_are_refused(emu: Emulator) -> None:
    resp = call(emu, "/v1/models", headers={"x-api-key": "another-key"})
    assert resp.status == 401
    assert call(emu, "/v1/models", key=None, headers={"x-api-key": KEY}).status == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("top_k", 0, "top_k"),
        ("top_k", -1, "top_k"),
        ("repetition_penalty", 0.05, "between 0.1 and 2"),
        ("repetition_penalty", 2.5, "between 0.1 and 2"),
    ],
)
def test_documented_ranges_are_enforced(
    emu: Emulator, field: str, value: float, message: str
) -> None:
    resp = chat(emu, messages=user("hi"), **{field: value})
    assert resp.status == 400 and resp.json()["status"] == "error"
    assert message in resp.json()["message"]
    ok = {"top_k": 1, "repetition_penalty": 2}
    assert chat(emu, messages=user("hi"), **{field: ok[field]}).status == 200


@pytest.mark.parametrize("role", ["developer", "function"])
def test_undocumented_roles_are_refused(emu: Emulator, role: str) -> None:
    resp = chat(emu, messages=[{"role": role, "content": "x"}, *user("hi")])
    assert resp.status == 400 and "system, user, assistant, tool" in resp.json()["message"]
