"""The vLLM profile's served context (both wordings, 40,000 and 40,960 tokens), its tekken
prompt counting, Magistral without ``<think>`` under a custom system prompt, its stream shape;
and, in any profile, ``{"error": "<string>"}`` bodies and Claude Code's ``?beta=true`` calls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mistral_common
import pytest
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

from modelslab_emulator import Emulator
from modelslab_emulator._mistral_tokens import approximate_tokens
from tests.support.stdlib_http import MAGISTRAL, call, sse_data, user

VLLM = "profile;name=vllm"
NEW = "profile;name=vllm;context_error=new"
PROSE = "The quick brown fox jumps over the lazy dog while the farmer counts his sheep. "
REASONING_PROMPT = (
    "A user will ask you to solve a task. You should first draft your thinking process "
    "(inner monologue) until you have derived the final answer."
)


@pytest.fixture(scope="module")
def host_40000() -> Iterator[Emulator]:
    with Emulator(profile="vllm", served_context=40_000) as emulator:
        yield emulator


def post(emu: Emulator, scenario: str | None, **body: Any) -> tuple[int, Any]:
    body.setdefault("model_id", MAGISTRAL)
    resp = call(emu, "/chat/completions", body, scenario=scenario)
    return resp.status, resp.json()


def prompt_of(emu: Emulator, messages: list[dict[str, Any]], scenario: str | None) -> int:
    """The prompt tokens the host counts for ``messages`` (from an answered request)."""
    status, body = post(emu, scenario, messages=messages, max_tokens=5)
    assert status == 200, body
    prompt: int = body["usage"]["prompt_tokens"]
    return prompt


def old_refusal(context: int, prompt: int, completion: int) -> dict[str, Any]:
    message = (
        f"This model's maximum context length is {context} tokens. However, you requested "
        f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the "
        "completion). Please reduce the length of the messages or completion."
    )
    return {"object": "error", "message": message, "type": "BadRequestError", "param": None}


def new_refusal(context: int, prompt: int, completion: int) -> dict[str, Any]:
    message = (
        f"'max_tokens' or 'max_completion_tokens' is too large: {completion}. This model's "
        f"maximum context length is {context} tokens and your request has {prompt} input "
        f"tokens ({completion} > {context} - {prompt}). (parameter=max_tokens, "
        f"value={completion})"
    )
    return {
        "error": {"message": message, "type": "BadRequestError", "param": "max_tokens", "code": 400}
    }


def test_prompt_tokens_are_counted_by_mistrals_tokenizer(emu: Emulator) -> None:
    tekken = Tekkenizer.from_file(
        Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    )
    text = "Revenue rose 12.5% to $4,310,000 in fiscal 2024; the board's outlook is unchanged. "
    text *= 300
    messages = [{"role": "system", "content": "Be brief."}, *user(text)]
    prompt = prompt_of(emu, messages, VLLM)
    exact = sum(len(tekken.encode(m["content"], bos=False, eos=False)) for m in messages)
    assert prompt == exact + 1 + 3 * len(messages)  # <s>, and each message's control tokens
    # the OpenRouter profile still counts words
    assert prompt_of(emu, messages, None) == len(text.split()) + 2


def test_without_mistral_common_the_estimate_is_close() -> None:
    text = "Revenue rose 12.5% to $4,310,000 in fiscal 2024; the board's outlook is unchanged. "
    tekken = Tekkenizer.from_file(
        Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    )
    exact = len(tekken.encode(text * 300, bos=False, eos=False))
    assert abs(approximate_tokens(text * 300) - exact) / exact < 0.15
    assert approximate_tokens("2024") == 4 and approximate_tokens("abcdefgh") == 2


@pytest.mark.parametrize("served", [40_000, 40_960])
def test_old_wording_at_both_served_contexts(emu: Emulator, served: int) -> None:
    scenario = f"{VLLM}, served-context;tokens={served}"
    messages = user(PROSE * 2000)  # about 36,000 tokens
    prompt = prompt_of(emu, messages, scenario)
    over = served - prompt + 1
    status, body = post(emu, scenario, messages=messages, max_tokens=over)
    assert status == 400
    assert body == {**old_refusal(served, prompt, over), "code": 400}
    status, body = post(emu, scenario, messages=messages, max_tokens=over - 1)
    assert status == 200, body


@pytest.mark.parametrize("served", [40_000, 40_960])
def test_new_wording_at_both_served_contexts(emu: Emulator, served: int) -> None:
    scenario = f"{NEW}, served-context;tokens={served}"
    messages = user(PROSE * 2000)
    prompt = prompt_of(emu, messages, scenario)
    over = served - prompt + 1
    assert post(emu, scenario, messages=messages, max_tokens=over) == (
        400,
        new_refusal(served, prompt, over),
    )
    status, body = post(emu, scenario, messages=messages, max_tokens=over - 1)
    assert status == 200, body


@pytest.mark.parametrize("served", [40_000, 40_960])
def test_a_prompt_alone_too_long(emu: Emulator, served: int) -> None:
    messages = user("ok " * served)
    prompt = prompt_of(emu, user("ok " * 10), VLLM) - 10 + served  # one token per "ok "
    status, body = post(emu, f"{NEW}, served-context;tokens={served}", messages=messages)
    message = (
        f"This model's maximum context length is {served} tokens. However, your request has "
        f"{prompt} input tokens. Please reduce the length of the input messages."
    )
    assert (status, body) == (
        400,
        {"error": {"message": message, "type": "BadRequestError", "param": None, "code": 400}},
    )
    # the old wording names the sum instead
    status, body = post(emu, f"{VLLM}, served-context;tokens={served}", messages=messages)
    assert (status, body) == (400, {**old_refusal(served, prompt, 1000), "code": 400})


def test_the_constructors_served_context_applies(host_40000: Emulator) -> None:
    messages = user(PROSE * 2000)
    prompt = prompt_of(host_40000, messages, None)
    status, body = post(host_40000, None, messages=messages, max_tokens=40_000 - prompt + 1)
    assert status == 400
    assert body["message"].startswith("This model's maximum context length is 40000 tokens.")
    # the emulator-wide served context applies under a scenario-chosen profile too
    status, body = post(host_40000, "profile;name=vllm", messages=user("Hi"), max_tokens=40_960)
    assert status == 400
    assert "maximum context length is 40000 tokens" in body["message"]


def _content(body: dict[str, Any]) -> str:
    content: str = body["choices"][0]["message"]["content"]
    return content


def test_magistral_skips_think_under_a_custom_system_prompt(emu: Emulator) -> None:
    custom = [{"role": "system", "content": "You are a terse assistant."}, *user("Hi there")]
    status, body = post(emu, VLLM, messages=custom, max_tokens=2000)
    assert status == 200, body
    assert _content(body) == "You said: Hi there"
    assert "completion_tokens_details" not in body["usage"]
    for messages in (
        [{"role": "system", "content": REASONING_PROMPT}, *user("Hi there")],
        user("Hi there"),
    ):
        status, body = post(emu, VLLM, messages=messages, max_tokens=2000)
        assert _content(body).startswith("<think>\n"), body
        assert _content(body).endswith("</think>\nYou said: Hi there")
    # the OpenRouter profile keeps thinking whatever the system prompt
    status, body = post(emu, None, messages=custom, max_tokens=2000)
    assert _content(body).startswith("<think>\n")


def test_vllm_bodies_and_streams(emu: Emulator) -> None:
    status, body = post(emu, VLLM, messages=user("Hi"), max_tokens=2000)
    assert status == 200
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", body["id"])
    for include_usage in (True, False):
        payload = {
            "model_id": MAGISTRAL,
            "messages": user("Hi"),
            "max_tokens": 2000,
            "stream": True,
            "stream_options": {"include_usage": include_usage},
        }
        resp = call(emu, "/chat/completions", payload, scenario=VLLM)
        assert resp.status == 200
        assert not resp.body.startswith(b":") and b"\n:" not in resp.body  # no comment lines
        data = sse_data(resp.body)
        assert data[-1] == "[DONE]"
        chunks = [json.loads(d) for d in data[:-1]]
        assert {c["id"] for c in chunks} == {chunks[0]["id"]}
        assert chunks[0]["id"].startswith("chatcmpl-")
        assert all("provider" not in c for c in chunks)
        usage_only = [c for c in chunks if c["choices"] == []]
        assert len(usage_only) == (1 if include_usage else 0)


def test_the_openrouter_profile_stream_is_unchanged(emu: Emulator) -> None:
    payload = {"model_id": MAGISTRAL, "messages": user("Hi"), "max_tokens": 2000, "stream": True}
    resp = call(emu, "/chat/completions", payload)
    assert resp.body.startswith(b": OPENROUTER PROCESSING\n\n")
    assert json.loads(sse_data(resp.body)[0])["id"].startswith("gen-")


@pytest.mark.parametrize("scenario_profile", ["", ", profile;name=vllm"])
def test_error_string_bodies(emu: Emulator, scenario_profile: str) -> None:
    scenario = f"error-string;status=402;message=Insufficient balance{scenario_profile}"
    resp = call(
        emu, "/chat/completions", {"model_id": MAGISTRAL, "messages": user("Hi")}, scenario=scenario
    )
    assert (resp.status, resp.json()) == (402, {"error": "Insufficient balance"})
    resp = call(
        emu,
        "/chat/completions",
        {"model_id": MAGISTRAL, "messages": user("Hi")},
        scenario="error-string",
    )
    assert (resp.status, resp.json()) == (400, {"error": "HTTP error 400"})
    resp = call(
        emu, "/chat/completions", {"messages": user("Hi")}, scenario="error-string;status=200"
    )
    assert resp.status == 400 and "status" in resp.json()["message"]


@pytest.mark.parametrize("profile", ["openrouter", "vllm"])
def test_claude_codes_beta_calls_with_a_bearer_token(emu: Emulator, profile: str) -> None:
    headers = {"anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219"}
    body = {"model": MAGISTRAL, "max_tokens": 2000, "messages": user("Hi")}
    scenario = f"profile;name={profile}"
    resp = call(emu, "/v1/messages?beta=true", body, headers=headers, scenario=scenario)
    assert resp.status == 200, resp.body
    message = resp.json()
    assert message["type"] == "message"
    assert message["content"][-1] == {"type": "text", "text": "You said: Hi"}
    counted = {"model": MAGISTRAL, "messages": user("Hi there")}
    resp = call(
        emu, "/v1/messages/count_tokens?beta=true", counted, headers=headers, scenario=scenario
    )
    assert (resp.status, resp.json()) == (200, {"input_tokens": 2})
    resp = call(emu, "/v1/messages?beta=true", body, headers=headers, key=None)
    assert resp.status == 401
