"""ModelsLabLLM structured prediction with structured_output_method="json_schema" when the
provider refuses the format: JSON mode (schema in the system message), then a forced function
call, still returning the object; other errors propagate unchanged. Against the emulator."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

import modelslab_transport as mt
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support.models import KEY, MakeLLM
from tests.support.scenarios import unique


class Album(BaseModel):
    """An album."""

    title: str
    artist: str
    year: int


PROMPT = PromptTemplate('Invent an album: title "{title}", artist "{artist}", year {year}.')
ARGS: dict[str, Any] = {"title": "Blue Hours", "artist": "Nova", "year": 1999}
ALBUM = Album(**ARGS)
CHAIN = {
    "refuse-json-schema": ["json_schema", "json_object"],
    "refuse-json-schema;status=400": ["json_schema", "json_object"],
    "refuse-json-mode": ["json_schema", "json_object", "tools"],
}


def make(make_llm: MakeLLM, scenario: str, **kwargs: Any) -> ModelsLabLLM:
    kwargs.setdefault("structured_output_method", "json_schema")
    return make_llm(unique(scenario), **kwargs)


def _bodies(emulator: Emulator, llm: ModelsLabLLM) -> list[dict[str, Any]]:
    header = (llm.default_headers or {})["X-Emulator-Scenario"]
    return [r.body for r in emulator.requests if r.scenario == header]


def sent(emulator: Emulator, llm: ModelsLabLLM) -> list[str]:
    """What each request of `llm` asked for: its response_format type, or "tools"."""
    kinds = []
    for body in _bodies(emulator, llm):
        fmt = body.get("response_format")
        kinds.append(fmt["type"] if fmt else "tools" if body.get("tools") else "plain")
    return kinds


@pytest.mark.parametrize("scenario", list(CHAIN))
def test_structured_predict_falls_back(
    make_llm: MakeLLM, emulator: Emulator, scenario: str
) -> None:
    llm = make(make_llm, scenario)
    assert llm.structured_predict(Album, PROMPT, **ARGS) == ALBUM
    assert sent(emulator, llm) == CHAIN[scenario]
    json_mode = _bodies(emulator, llm)[1]
    assert [m["role"] for m in json_mode["messages"]] == ["system", "user"]
    assert '"artist"' in json_mode["messages"][0]["content"]
    if scenario == "refuse-json-mode":
        forced = _bodies(emulator, llm)[2]
        assert forced["tool_choice"] == "required" and "response_format" not in forced


@pytest.mark.parametrize("scenario", ["refuse-json-schema", "refuse-json-mode"])
async def test_astructured_predict_falls_back(
    make_llm: MakeLLM, emulator: Emulator, scenario: str
) -> None:
    llm = make(make_llm, scenario)
    assert await llm.astructured_predict(Album, PROMPT, **ARGS) == ALBUM
    assert sent(emulator, llm) == CHAIN[scenario]


@pytest.mark.parametrize("scenario", ["refuse-json-schema", "refuse-json-mode"])
async def test_streaming_structured_predict_falls_back(
    make_llm: MakeLLM, emulator: Emulator, scenario: str
) -> None:
    llm = make(make_llm, scenario)
    partials = list(llm.stream_structured_predict(Album, PROMPT, **ARGS))
    assert Album.model_validate(partials[-1].model_dump()) == ALBUM
    assert sent(emulator, llm) == CHAIN[scenario]
    llm = make(make_llm, scenario)
    stream = await llm.astream_structured_predict(Album, PROMPT, **ARGS)
    apartials = [p async for p in stream]
    assert Album.model_validate(apartials[-1].model_dump()) == ALBUM
    assert sent(emulator, llm) == CHAIN[scenario]


async def test_as_structured_llm_falls_back(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make(make_llm, "refuse-json-mode")
    structured = llm.as_structured_llm(Album)
    message = ChatMessage(role=MessageRole.USER, content=PROMPT.format(**ARGS))
    assert structured.chat([message]).raw == ALBUM
    assert (await structured.achat([message])).raw == ALBUM
    assert sent(emulator, llm) == ["json_schema", "json_object", "tools", "tools"]  # remembered


def test_json_schema_is_sent_when_accepted(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make(make_llm, "refuse-json-schema;times=0")
    assert llm.structured_predict(Album, PROMPT, **ARGS) == ALBUM
    (body,) = _bodies(emulator, llm)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Album"
    assert body["response_format"]["json_schema"]["schema"] == Album.model_json_schema()
    assert "tools" not in body and "tool_choice" not in body


def test_json_mode_method_falls_back_to_function_calling(
    make_llm: MakeLLM, emulator: Emulator
) -> None:
    llm = make(make_llm, "refuse-json-mode", structured_output_method="json_mode")
    assert llm.structured_predict(Album, PROMPT, **ARGS) == ALBUM
    assert sent(emulator, llm) == ["json_object", "tools"]


def test_default_method_is_function_calling(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make_llm(unique("refuse-json-mode"))
    assert llm.structured_output_method == "function_calling"
    assert llm.structured_predict(Album, PROMPT, **ARGS) == ALBUM
    assert sent(emulator, llm) == ["tools"]


def test_memo_per_llm_and_warning(
    make_llm: MakeLLM, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm = make(make_llm, "refuse-json-schema")
    with caplog.at_level(logging.WARNING, logger="llama_index_modelslab"):
        llm.structured_predict(Album, PROMPT, **ARGS)
        llm.structured_predict(Album, PROMPT, **ARGS)
    assert sent(emulator, llm) == ["json_schema", "json_object", "json_object"]
    (warning,) = [r for r in caplog.records if r.name == "llama_index_modelslab"]
    assert warning.levelno == logging.WARNING
    text = warning.getMessage()
    assert "'json_schema'" in text and "'json_mode'" in text and llm.model in text
    assert KEY not in text and "Nova" not in text
    other = make(make_llm, "refuse-json-schema")  # another LLM starts from json_schema again
    other.structured_predict(Album, PROMPT, **ARGS)
    assert sent(emulator, other) == ["json_schema", "json_object"]


@pytest.mark.parametrize("stream", [False, True])
def test_unrelated_errors_propagate_typed(
    make_llm: MakeLLM, emulator: Emulator, stream: bool
) -> None:
    llm = make(make_llm, "http-error;status=401;message=Invalid API key")
    with pytest.raises(mt.AuthenticationError) as auth:
        if stream:
            list(llm.stream_structured_predict(Album, PROMPT, **ARGS))
        else:
            llm.structured_predict(Album, PROMPT, **ARGS)
    assert auth.value.status_code == 401
    assert sent(emulator, llm) == ["json_schema"]
    llm = make(make_llm, "http-error;status=500;message=Provider returned error", max_retries=0)
    with pytest.raises(mt.ServerError):
        llm.structured_predict(Album, PROMPT, **ARGS)
    assert sent(emulator, llm) == ["json_schema"]


async def test_unrelated_errors_propagate_typed_async(
    make_llm: MakeLLM, emulator: Emulator
) -> None:
    llm = make(make_llm, "http-error;status=400;message=Invalid temperature")
    with pytest.raises(mt.BadRequestError, match="Invalid temperature"):
        await llm.astructured_predict(Album, PROMPT, **ARGS)
    assert sent(emulator, llm) == ["json_schema"]


def test_method_is_validated(make_llm: MakeLLM) -> None:
    with pytest.raises(ValueError, match="structured_output_method"):
        make_llm(structured_output_method="xml")
