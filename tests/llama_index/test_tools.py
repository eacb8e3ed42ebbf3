"""Tool calling and structured prediction through ModelsLabLLM, against the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support.models import MakeLLM


def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"sunny in {city}"


def get_time(city: str) -> str:
    """Local time of a city."""
    return f"09:00 in {city}"


WEATHER = FunctionTool.from_defaults(get_weather)
TIME = FunctionTool.from_defaults(get_time)


class Album(BaseModel):
    """An album with a title, an artist and a year."""

    title: str
    artist: str
    year: int


ALBUM_PROMPT = PromptTemplate('Invent an album: title "{title}", artist "{artist}", year {year}.')
ALBUM_ARGS = {"title": "Blue Hours", "artist": "Nova", "year": 1999}


def _tool_calls(message: ChatMessage) -> list[ToolCallBlock]:
    return [b for b in message.blocks if isinstance(b, ToolCallBlock)]


def _assert_no_tool_choice_without_tools(emulator: Emulator) -> None:
    assert emulator.requests
    for request in emulator.requests:
        if "tool_choice" in request.body or "parallel_tool_calls" in request.body:
            assert request.body.get("tools"), request.body


def test_chat_with_tools_returns_tool_call_blocks(llm: ModelsLabLLM, emulator: Emulator) -> None:
    history = [ChatMessage(role=MessageRole.SYSTEM, content="Use tools.")]
    response = llm.chat_with_tools([WEATHER, TIME], 'get_weather for "Paris"', chat_history=history)
    assert len(history) == 1  # the caller's list is untouched
    (call,) = _tool_calls(response.message)
    assert call.tool_name == "get_weather"
    assert call.tool_kwargs == {"city": "Paris"}
    assert response.message.additional_kwargs["tool_calls"][0]["function"]["name"] == "get_weather"
    (selection,) = llm.get_tool_calls_from_response(response)
    assert selection.tool_kwargs == {"city": "Paris"}
    body = emulator.requests[0].body
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]


def test_parallel_tool_calls(llm: ModelsLabLLM) -> None:
    prompt = 'Call get_weather and get_time for "Rome"'
    response = llm.chat_with_tools([WEATHER, TIME], prompt, allow_parallel_tool_calls=True)
    names = [s.tool_name for s in llm.get_tool_calls_from_response(response)]
    assert names == ["get_weather", "get_time"]
    single = llm.chat_with_tools([WEATHER, TIME], prompt, allow_parallel_tool_calls=False)
    assert len(llm.get_tool_calls_from_response(single)) == 1


@pytest.mark.parametrize("scenario", ["multi-tool-chunk", "repeat-tool-id", "no-tool-index"])
def test_parallel_tool_calls_stream_variants(make_llm: MakeLLM, scenario: str) -> None:
    llm = make_llm(scenario=scenario)
    prompt = 'Call get_weather and get_time for "Rome"'
    responses = list(
        llm.stream_chat_with_tools([WEATHER, TIME], prompt, allow_parallel_tool_calls=True)
    )
    final = responses[-1]
    selections = llm.get_tool_calls_from_response(final)
    assert [(s.tool_name, s.tool_kwargs) for s in selections] == [
        ("get_weather", {"city": "Rome"}),
        ("get_time", {"city": "Rome"}),
    ]
    assert len(_tool_calls(final.message)) == 2  # no duplicated blocks


def test_tool_required_and_tool_choice_by_name(llm: ModelsLabLLM, emulator: Emulator) -> None:
    response = llm.chat_with_tools([WEATHER, TIME], 'What about "Oslo"?', tool_required=True)
    assert _tool_calls(response.message)
    assert emulator.requests[-1].body["tool_choice"] == "required"
    response = llm.chat_with_tools([WEATHER, TIME], 'And "Oslo"?', tool_choice="get_time")
    assert [c.tool_name for c in _tool_calls(response.message)] == ["get_time"]
    assert emulator.requests[-1].body["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_time"},
    }
    with pytest.raises(ValueError, match="names none of the tools"):
        llm.chat_with_tools([WEATHER], "hi", tool_choice="nope")


def test_no_tool_call_is_text(llm: ModelsLabLLM) -> None:
    response = llm.chat_with_tools([WEATHER], "Just say hello")
    assert response.message.content == "You said: Just say hello"
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="Expected at least one tool call"):
        llm.get_tool_calls_from_response(response)


def test_tool_round_trip_normalises_ids(llm: ModelsLabLLM, emulator: Emulator) -> None:
    first = llm.chat_with_tools([WEATHER], 'get_weather for "Lima"')
    (selection,) = llm.get_tool_calls_from_response(first)
    history = [
        ChatMessage(role=MessageRole.USER, content='get_weather for "Lima"'),
        first.message,
        ChatMessage(
            role=MessageRole.TOOL,
            content=get_weather(**selection.tool_kwargs),
            additional_kwargs={"tool_call_id": "call_not-nine-chars"},
        ),
    ]
    history[1].blocks = [
        b.model_copy(update={"tool_call_id": "call_not-nine-chars"})
        if isinstance(b, ToolCallBlock)
        else b
        for b in history[1].blocks
    ]
    answer = llm.chat_with_tools([WEATHER], chat_history=history)
    assert 'get_weather returned "sunny in Lima"' in (answer.message.content or "")
    sent = emulator.requests[-1].body["messages"]
    assert "think" not in str(sent[1])  # earlier thinking is not sent back
    call_id = sent[1]["tool_calls"][0]["id"]
    assert call_id == sent[2]["tool_call_id"]
    assert len(call_id) == 9
    assert call_id.isalnum()


def test_predict_and_call(llm: ModelsLabLLM) -> None:
    result = llm.predict_and_call([WEATHER], 'get_weather for "Cairo"')
    assert result.response == "sunny in Cairo"
    assert result.sources[0].tool_name == "get_weather"


async def test_async_tools(llm: ModelsLabLLM) -> None:
    response = await llm.achat_with_tools([WEATHER], 'get_weather for "Kyiv"')
    assert _tool_calls(response.message)[0].tool_kwargs == {"city": "Kyiv"}
    result = await llm.apredict_and_call([WEATHER, TIME], 'get_time for "Kyiv"')
    assert result.response == "09:00 in Kyiv"
    stream = await llm.astream_chat_with_tools([WEATHER], 'get_weather for "Kyiv"')
    final = [r async for r in stream][-1]
    assert llm.get_tool_calls_from_response(final)[0].tool_kwargs == {"city": "Kyiv"}


def test_partial_tool_arguments_mid_stream(llm: ModelsLabLLM) -> None:
    seen: list[dict[str, Any]] = []
    for response in llm.stream_chat_with_tools([WEATHER], 'get_weather for "Buenos Aires"'):
        for selection in llm.get_tool_calls_from_response(response, error_on_no_tool_call=False):
            seen.append(selection.tool_kwargs)
    assert seen[-1] == {"city": "Buenos Aires"}
    partial = [kwargs for kwargs in seen if kwargs != seen[-1]]
    assert partial  # arguments arrived in fragments and parsed as they came
    assert any(kwargs.get("city", "") not in ("", "Buenos Aires") for kwargs in partial)


def test_structured_predict(llm: ModelsLabLLM, emulator: Emulator) -> None:
    album = llm.structured_predict(Album, ALBUM_PROMPT, **ALBUM_ARGS)
    assert album == Album(**ALBUM_ARGS)
    assert emulator.requests[-1].body["tool_choice"] == "required"
    _assert_no_tool_choice_without_tools(emulator)


async def test_astructured_predict(llm: ModelsLabLLM, emulator: Emulator) -> None:
    album = await llm.astructured_predict(Album, ALBUM_PROMPT, **ALBUM_ARGS)
    assert album == Album(**ALBUM_ARGS)
    _assert_no_tool_choice_without_tools(emulator)


def test_stream_structured_predict(llm: ModelsLabLLM, emulator: Emulator) -> None:
    partials = list(llm.stream_structured_predict(Album, ALBUM_PROMPT, **ALBUM_ARGS))
    assert len(partials) > 2
    assert Album.model_validate(partials[-1].model_dump()) == Album(**ALBUM_ARGS)
    assert emulator.requests[-1].body["tool_choice"] == "required"
    _assert_no_tool_choice_without_tools(emulator)


async def test_astream_structured_predict(llm: ModelsLabLLM, emulator: Emulator) -> None:
    stream = await llm.astream_structured_predict(Album, ALBUM_PROMPT, **ALBUM_ARGS)
    partials = [p async for p in stream]
    assert Album.model_validate(partials[-1].model_dump()) == Album(**ALBUM_ARGS)
    _assert_no_tool_choice_without_tools(emulator)


async def test_as_structured_llm(llm: ModelsLabLLM, emulator: Emulator) -> None:
    structured = llm.as_structured_llm(Album)
    message = ChatMessage(role=MessageRole.USER, content=ALBUM_PROMPT.format(**ALBUM_ARGS))
    response = structured.chat([message])
    assert response.raw == Album(**ALBUM_ARGS)
    assert Album.model_validate_json(response.message.content or "") == Album(**ALBUM_ARGS)
    response = await structured.achat([message])
    assert response.raw == Album(**ALBUM_ARGS)
    streamed = list(structured.stream_chat([message]))
    assert Album.model_validate_json(streamed[-1].message.content or "") == Album(**ALBUM_ARGS)
    _assert_no_tool_choice_without_tools(emulator)
