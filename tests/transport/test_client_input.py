"""Bad input is refused with a typed error before any request is sent."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    InvalidInputError,
    MissingAPIKeyError,
    ModelsLabClient,
    build_chat_payload,
)
from tests.support.transport_calls import LLAMA, payload

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"temperature": 5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"n": 11}, "n must be"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "at most 4"),
        ({"top_p": 1.5}, "top_p"),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}
                ]
            },
            "type object",
        ),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"x": {1, 2}}}}
                ]
            },
            "JSON-serialisable",
        ),
        ({"tools": [{"nope": 1}]}, "tools[0]"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"response_format": "json"}, "response_format"),
    ],
)
def test_invalid_parameters(params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=None) as info:
        build_chat_payload(LLAMA, USER, **params)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "empty"),
        ("hello", "list"),
        ([{"role": "wizard", "content": "x"}], "role 'wizard'"),
        (["just a string"], "not a dict"),
        ([{"role": "tool", "content": "42"}], "tool_call_id"),
        ([{"role": "user", "content": 42}], "content must be"),
    ],
)
def test_invalid_messages(messages: Any, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        build_chat_payload(LLAMA, messages)
    assert fragment in str(info.value)


def test_forced_tool_choice_without_tools_is_refused_and_auto_dropped() -> None:
    with pytest.raises(InvalidInputError):
        build_chat_payload(LLAMA, USER, tool_choice="required")
    assert "tool_choice" not in build_chat_payload(LLAMA, USER, tool_choice="auto")


def test_tool_choice_forms_are_accepted() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    forced = {"type": "function", "function": {"name": "f"}}
    for choice in ("auto", "none", "required", forced):
        assert build_chat_payload(LLAMA, USER, tools=tools, tool_choice=choice)["tool_choice"] == (
            choice
        )
    with pytest.raises(InvalidInputError):
        build_chat_payload(LLAMA, USER, tools=tools, tool_choice={"type": "function"})


def test_payload_never_holds_the_key() -> None:
    body = build_chat_payload(LLAMA, USER, stream=True, temperature=0.1, seed=None)
    assert "key" not in body and "seed" not in body
    assert body["model_id"] == LLAMA and body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("options", "error", "fragment"),
    [
        ({"base_url": "modelslab.com/api/v7/llm"}, InvalidInputError, "scheme"),
        ({"base_url": "http://example.com/api/v7/llm"}, InvalidInputError, "non-loopback"),
        ({"base_url": "ftp://127.0.0.1/x"}, InvalidInputError, "scheme"),
        ({"api_key": ""}, MissingAPIKeyError, "empty"),
        ({"api_key": "  "}, MissingAPIKeyError, "empty"),
        ({"api_key": "abc\ndef"}, InvalidInputError, "whitespace"),
        ({"max_retries": -1}, InvalidInputError, "max_retries"),
        ({"max_concurrent_requests": 0}, InvalidInputError, "max_concurrent_requests"),
        ({"timeout": -3}, InvalidInputError, "timeout"),
        ({"default_headers": {"Authorization": "Bearer x"}}, InvalidInputError, "credentials"),
    ],
)
def test_invalid_settings(options: dict[str, Any], error: type[Exception], fragment: str) -> None:
    kwargs = {"api_key": "k", "base_url": "https://modelslab.com/api/v7/llm", **options}
    with pytest.raises(error) as info:
        ModelsLabClient(**kwargs)
    assert fragment in str(info.value)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="MODELSLAB_API_KEY"):
        ModelsLabClient()


def test_environment_supplies_key_and_base_url(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "sk-from-env")
    monkeypatch.setenv("MODELSLAB_BASE_URL", emulator.base_url + "/")
    with ModelsLabClient() as client:
        assert client.settings.base_url == emulator.base_url
        assert client.chat(payload("env")).first.content == "You said: env"


def test_loopback_http_and_https_are_accepted() -> None:
    for url in ("http://localhost:9/x", "http://127.0.0.2:9", "http://[::1]:9", "https://a.b"):
        assert ModelsLabClient(api_key="k", base_url=url).settings.base_url == url


def test_unserialisable_payload_is_refused_before_sending(emulator: Emulator) -> None:
    body = payload("x")
    body["metadata"] = object()
    with ModelsLabClient(api_key="k", base_url=emulator.base_url) as client:
        with pytest.raises(InvalidInputError):
            client.chat(body)
        with pytest.raises(InvalidInputError):
            list(client.stream_chat(body))
    assert emulator.requests == []


def test_debug_logging_never_shows_the_key(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-logging-canary-93ab"
    with caplog.at_level(logging.DEBUG):
        with ModelsLabClient(api_key=key, base_url=emulator.base_url) as client:
            client.chat(payload("log me"))
            list(client.stream_chat(payload("log me")))
    assert any("chat/completions" in r.getMessage() for r in caplog.records)
    assert all(key not in r.getMessage() for r in caplog.records)
    assert key not in caplog.text


def test_stream_usage_can_be_declined(emulator: Emulator) -> None:
    body = build_chat_payload(LLAMA, USER, stream=True, include_usage=False)
    assert body["stream_options"] == {"include_usage": False}
    with ModelsLabClient(api_key="k", base_url=emulator.base_url) as client:
        events = list(client.stream_chat(body))
    assert not [e for e in events if type(e).__name__ == "UsageEvent"]
    assert emulator.requests[-1].body["stream_options"] == {"include_usage": False}
