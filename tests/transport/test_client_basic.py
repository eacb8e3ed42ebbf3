"""The clients against the emulator over real sockets: answers, streams, auth, endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    FinishEvent,
    ModelsLabClient,
    StreamStart,
    TextDelta,
    UsageEvent,
    accumulate,
)
from tests.support.tool_specs import STRING, function_tool
from tests.support.transport_calls import LLAMA, MAGISTRAL, chat_requests, payload

KEY = "sk-basic-test-7f3a9c"


@pytest.fixture
def client(emulator: Emulator) -> Any:
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url) as c:
        yield c


def test_chat_returns_the_answer_and_sends_key_in_header_and_body(
    client: ModelsLabClient, emulator: Emulator
) -> None:
    result = client.chat(payload("Hello there"))
    assert result.first.content == "You said: Hello there"
    assert result.first.reasoning == ""
    assert result.first.finish_reason == "stop"
    assert result.usage is not None and result.usage.total_tokens > 0
    [request] = chat_requests(emulator)
    assert request.body["model_id"] == LLAMA
    assert request.body["key"] == "[REDACTED]"  # sent in the body, redacted by the log
    assert request.headers.get("Authorization", request.headers.get("authorization")) == (
        "[REDACTED]"
    )
    assert request.body["stream"] is False


def test_magistral_reasoning_is_split_from_the_answer(client: ModelsLabClient) -> None:
    result = client.chat(payload("What is 2+2?", model=MAGISTRAL))
    assert result.first.content == "You said: What is 2+2?"
    assert result.first.reasoning
    assert "<think>" not in result.first.content and "think>" not in result.first.reasoning


def test_stream_events_and_aggregate_equal_the_plain_answer(client: ModelsLabClient) -> None:
    events = list(client.stream_chat(payload("Tell me three things", model=MAGISTRAL)))
    assert isinstance(events[0], StreamStart)
    assert sum(isinstance(e, UsageEvent) for e in events) == 1
    assert isinstance(events[-1], UsageEvent)
    assert sum(isinstance(e, TextDelta) for e in events) > 3  # token by token
    streamed = accumulate(events)
    plain = client.chat(payload("Tell me three things", model=MAGISTRAL))
    assert streamed.first.content == plain.first.content
    assert streamed.first.reasoning == plain.first.reasoning
    assert streamed.first.finish_reason == plain.first.finish_reason == "stop"
    assert streamed.usage is not None and plain.usage is not None
    assert streamed.usage.total_tokens == plain.usage.total_tokens


def test_stream_asks_for_usage(client: ModelsLabClient, emulator: Emulator) -> None:
    list(client.stream_chat(payload("hi")))
    [request] = chat_requests(emulator)
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


def test_max_tokens_gives_length(client: ModelsLabClient) -> None:
    text = "one two three four five six seven eight nine ten"
    result = client.chat(payload(text, max_tokens=3))
    assert result.first.finish_reason == "length"
    streamed = accumulate(client.stream_chat(payload(text, max_tokens=3)))
    assert streamed.first.finish_reason == "length"
    assert streamed.first.content == result.first.content


def test_n_choices(client: ModelsLabClient) -> None:
    result = client.chat(payload("hi", n=3))
    assert [c.index for c in result.choices] == [0, 1, 2]
    streamed = accumulate(client.stream_chat(payload("hi", n=2)))
    assert [c.content for c in streamed.choices] == ["You said: hi"] * 2


def test_tool_call_round_trip(client: ModelsLabClient) -> None:
    tools = [function_tool("get_weather", "Weather for a city", city=STRING)]
    body = payload("Use get_weather for 'Paris'", tools=tools)
    plain = client.chat(body)
    [call] = plain.first.tool_calls
    assert call.name == "get_weather" and '"Paris"' in call.arguments
    assert plain.first.finish_reason == "tool_calls"
    streamed = accumulate(client.stream_chat(body))
    [scall] = streamed.first.tool_calls
    assert (scall.name, scall.arguments) == (call.name, call.arguments)


def test_count_tokens_and_list_models(client: ModelsLabClient, emulator: Emulator) -> None:
    n = client.count_tokens(MAGISTRAL, [{"role": "user", "content": "one two three"}], "sys")
    assert n >= 3
    ids = [m["id"] for m in client.list_models()]
    assert MAGISTRAL in ids
    paths = [r.path for r in emulator.requests]
    assert paths[-2].endswith("/v1/messages/count_tokens") and paths[-1].endswith("/v1/models")


async def test_async_client_answers_and_streams(emulator: Emulator) -> None:
    async with AsyncModelsLabClient(api_key=KEY, base_url=emulator.base_url) as client:
        result = await client.chat(payload("async hello", model=MAGISTRAL))
        events = [e async for e in client.stream_chat(payload("async hello", model=MAGISTRAL))]
        assert accumulate(events).first.content == result.first.content == "You said: async hello"
        assert isinstance(events[-2], FinishEvent)
        assert await client.count_tokens(MAGISTRAL, [{"role": "user", "content": "a b"}]) >= 2
        assert any(m["id"] == MAGISTRAL for m in await client.list_models())


def test_async_client_survives_several_event_loops(emulator: Emulator) -> None:
    client = AsyncModelsLabClient(api_key=KEY, base_url=emulator.base_url)

    async def once() -> str:
        return (await client.chat(payload("loop"))).first.content

    assert asyncio.run(once()) == "You said: loop"
    assert asyncio.run(once()) == "You said: loop"  # a new loop: no "Event loop is closed"


def test_injected_http_client_is_used_and_left_open(emulator: Emulator) -> None:
    import httpx

    with httpx.Client() as http:
        client = ModelsLabClient(api_key=KEY, base_url=emulator.base_url, http_client=http)
        assert client.chat(payload("x")).first.content == "You said: x"
        client.close()
        assert not http.is_closed


def test_repr_and_settings_hide_the_key(client: ModelsLabClient) -> None:
    assert KEY not in repr(client)
    assert KEY not in repr(client.settings)
    assert KEY not in str(client.settings)


def test_the_settings_fields_hide_the_key(client: ModelsLabClient) -> None:
    # The key's holder itself, as a field, in a container and inside a list: asterisks only.
    fields = {name: getattr(client.settings, name) for name in client.settings.__slots__}
    assert client.settings.api_key.get_secret_value() == KEY  # the field really holds it
    for text in (repr(fields), repr(client.settings.api_key), str([fields["api_key"]])):
        assert KEY not in text
        assert "*" in text or "Secret" in text
