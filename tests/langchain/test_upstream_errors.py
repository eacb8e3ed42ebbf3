"""ChatModelsLab against the upstream behaviours of issue 10: mid-stream errors keep the partial
text, non-JSON 200s are retried, cut streams are incomplete, OpenRouter 429 hints are honoured,
`status: success` is an answer, documented ranges are refused up front, queued streams wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.exceptions import ModelAPIError, ModelTimeoutError
from langchain_core.messages import ChatMessage, HumanMessage
from pydantic import ValidationError

from langchain_modelslab import ChatModelsLab
from langchain_modelslab._errors import (
    ModelsLabBadGatewayError,
    ModelsLabIncompleteStreamError,
    ModelsLabInvalidInputError,
    ModelsLabServerError,
    ModelsLabUnexpectedResponseError,
)
from modelslab_emulator import Emulator
from tests.support import upstream_cases as cases
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel

KEY = "sk-lc-upstream-91f0"
MODEL = "meta-llama-llama-3.1-8b-instruct"
MODES = ["invoke", "stream", "ainvoke", "astream"]
STREAMS = ["stream", "astream"]


chat_model_defaults = file_defaults(api_key=KEY, model=MODEL)


def call(mode: str, llm: ChatModelsLab, text: str = cases.TEXT) -> str:
    if mode == "invoke":
        return str(llm.invoke(text).content)
    if mode == "stream":
        return "".join(str(chunk.content) for chunk in llm.stream(text))

    async def go() -> str:
        if mode == "ainvoke":
            return str((await llm.ainvoke(text)).content)
        return "".join([str(chunk.content) async for chunk in llm.astream(text)])

    return asyncio.run(go())


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("scenario", cases.MID_STREAM_ERRORS)
def test_mid_stream_errors_are_server_errors_with_partial_text(
    mode: str, scenario: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    with pytest.raises(ModelsLabServerError) as info:
        call(mode, make_chat_model(scenario, max_retries=0))
    assert isinstance(info.value, ModelAPIError)
    cases.check_mid_stream_error(info.value, KEY)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_whole_answer_ending_in_error_is_a_server_error(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    with pytest.raises(ModelsLabServerError) as info:
        call(mode, make_chat_model("finish-error", max_retries=0))
    assert info.value.partial_text == cases.ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_stream_cut_inside_a_line_is_incomplete(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    with pytest.raises(ModelsLabIncompleteStreamError) as info:
        call(mode, make_chat_model("cut-mid-line;after=2", max_retries=0))
    assert info.value.partial_text == "You said: "


@pytest.mark.parametrize("mode", MODES)
def test_non_json_200_is_retried(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model("non-json-200")
    assert call(mode, llm) == cases.ANSWER
    assert cases.statuses(emulator, llm) == [200, 200]


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_non_json_200_that_persists_is_a_server_error(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model("non-json-200;times=-1", max_retries=1)
    with pytest.raises(ModelsLabBadGatewayError, match="not JSON") as info:
        call(mode, llm)
    assert isinstance(info.value, ModelsLabServerError) and isinstance(info.value, ModelAPIError)
    assert cases.statuses(emulator, llm) == [200, 200]


def test_blank_lines_before_json_parse(emulator: Emulator, make_chat_model: MakeChatModel) -> None:
    assert call("invoke", make_chat_model("blank-lines-200")) == cases.ANSWER


@pytest.mark.parametrize("mode", MODES)
def test_status_success_is_an_answer(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    assert call(mode, make_chat_model("status-success")) == cases.ANSWER


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_429_hint_is_honoured(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model("openrouter-429;reset=0.6;code_str=1")
    assert call(mode, llm) == cases.ANSWER
    first, second = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.received_at >= 0.45


def test_count_tokens_without_input_tokens_is_typed(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model("count-tokens-missing")
    with pytest.raises(ModelsLabUnexpectedResponseError):
        llm.count_tokens([HumanMessage(cases.TEXT)])
    with pytest.raises(ModelsLabUnexpectedResponseError):
        asyncio.run(llm.acount_tokens([HumanMessage(cases.TEXT)]))


def test_x_api_key_on_v1_endpoints(emulator: Emulator, make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model("require-x-api-key")
    assert llm.list_models()
    assert llm.count_tokens([HumanMessage(cases.TEXT)]) > 0
    assert asyncio.run(llm.alist_models())


@pytest.mark.parametrize(
    ("field", "value", "documented"),
    [
        ("top_k", 0, "greater than or equal to 1"),
        ("repetition_penalty", 0.05, "greater than or equal to 0.1"),
        ("repetition_penalty", 2.5, "less than or equal to 2"),
    ],
)
def test_out_of_range_fields_are_refused_at_construction(
    field: str, value: Any, documented: str, base_url: str
) -> None:
    with pytest.raises(ValidationError, match=documented):
        ChatModelsLab(api_key=KEY, base_url=base_url, **{field: value})


@pytest.mark.parametrize(
    ("params", "documented"),
    [({"top_k": 0}, "at least 1"), ({"repetition_penalty": 2.5}, "between 0.1 and 2")],
)
def test_out_of_range_call_arguments_are_refused_before_sending(
    params: dict[str, Any], documented: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model()
    with pytest.raises(ModelsLabInvalidInputError, match=documented):
        llm.invoke("hi", **params)
    with pytest.raises(ModelsLabInvalidInputError, match=documented):
        list(llm.stream("hi", **params))
    assert emulator.requests == []


def test_developer_role_is_sent_as_system(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model()
    llm.invoke([ChatMessage(role="developer", content="Be brief."), HumanMessage("hi")])
    (request,) = emulator.requests
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]


@pytest.mark.parametrize("mode", STREAMS)
def test_queued_stream_waits_past_the_idle_timeout(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    scenario, settings = cases.QUEUED
    assert call(mode, make_chat_model(scenario, **settings)) == cases.ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_first_byte_timeout_and_idle_timeout(
    mode: str, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    for (scenario, settings), timeout in (
        (cases.SILENT, "first_byte_timeout"),
        (cases.STALLED, "stream_idle_timeout"),
    ):
        with pytest.raises(ModelTimeoutError, match=timeout):
            call(mode, make_chat_model(scenario, **settings))


def test_first_byte_timeout_field(base_url: str) -> None:
    assert ChatModelsLab(api_key=KEY, base_url=base_url).first_byte_timeout == 600.0
    with pytest.raises(ValidationError, match="first_byte_timeout"):
        ChatModelsLab(api_key=KEY, base_url=base_url, first_byte_timeout=0)
