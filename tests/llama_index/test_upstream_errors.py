"""ModelsLabLLM against the upstream behaviours of issue 10: mid-stream errors keep the partial
text, non-JSON 200s are retried, cut streams are incomplete, OpenRouter 429 hints are honoured,
`status: success` is an answer, documented ranges are refused up front, queued streams wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

import modelslab_transport as mt
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support import upstream_cases as cases
from tests.support.models import KEY, PLAIN_MODEL, MakeLLM

MODES = ["chat", "stream_chat", "achat", "astream_chat"]
STREAMS = ["stream_chat", "astream_chat"]
USER = [ChatMessage(role=MessageRole.USER, content=cases.TEXT)]


def make(make_llm: MakeLLM, scenario: str | None = None, **kwargs: Any) -> ModelsLabLLM:
    kwargs.setdefault("model", PLAIN_MODEL)
    return make_llm(cases.unique(scenario), **kwargs)


def call(mode: str, llm: ModelsLabLLM) -> str:
    if mode == "chat":
        return str(llm.chat(USER).message.content)
    if mode == "stream_chat":
        return "".join(r.delta or "" for r in llm.stream_chat(USER))

    async def go() -> str:
        if mode == "achat":
            return str((await llm.achat(USER)).message.content)
        return "".join([r.delta or "" async for r in await llm.astream_chat(USER)])

    return asyncio.run(go())


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("scenario", cases.MID_STREAM_ERRORS)
def test_mid_stream_errors_are_server_errors_with_partial_text(
    mode: str, scenario: str, make_llm: MakeLLM
) -> None:
    with pytest.raises(mt.ServerError) as info:
        call(mode, make(make_llm, scenario, max_retries=0))
    cases.check_mid_stream_error(info.value, KEY)


@pytest.mark.parametrize("mode", ["chat", "achat"])
def test_whole_answer_ending_in_error_is_a_server_error(mode: str, make_llm: MakeLLM) -> None:
    with pytest.raises(mt.ServerError) as info:
        call(mode, make(make_llm, "finish-error", max_retries=0))
    assert info.value.partial_text == cases.ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_stream_cut_inside_a_line_is_incomplete(mode: str, make_llm: MakeLLM) -> None:
    with pytest.raises(mt.IncompleteStreamError) as info:
        call(mode, make(make_llm, "cut-mid-line;after=2", max_retries=0))
    assert info.value.partial_text == "You said: "


@pytest.mark.parametrize("mode", MODES)
def test_non_json_200_is_retried(mode: str, make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make(make_llm, "non-json-200")
    assert call(mode, llm) == cases.ANSWER
    assert cases.statuses(emulator, llm) == [200, 200]


@pytest.mark.parametrize("mode", ["chat", "stream_chat"])
def test_non_json_200_that_persists_is_a_server_error(
    mode: str, make_llm: MakeLLM, emulator: Emulator
) -> None:
    llm = make(make_llm, "non-json-200;times=-1", max_retries=1)
    with pytest.raises(mt.BadGatewayError, match="not JSON"):
        call(mode, llm)
    assert cases.statuses(emulator, llm) == [200, 200]


def test_blank_lines_before_json_parse(make_llm: MakeLLM) -> None:
    assert call("chat", make(make_llm, "blank-lines-200")) == cases.ANSWER


@pytest.mark.parametrize("mode", MODES)
def test_status_success_is_an_answer(mode: str, make_llm: MakeLLM) -> None:
    assert call(mode, make(make_llm, "status-success")) == cases.ANSWER


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_429_hint_is_honoured(mode: str, make_llm: MakeLLM, emulator: Emulator) -> None:
    assert call(mode, make(make_llm, "openrouter-429;reset=0.6")) == cases.ANSWER
    first, second = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.received_at >= 0.45


@pytest.mark.parametrize(("kwargs", "documented"), cases.OUT_OF_RANGE)
def test_out_of_range_values_are_refused_before_sending(
    kwargs: dict[str, Any], documented: str, make_llm: MakeLLM, emulator: Emulator
) -> None:
    with pytest.raises(mt.InvalidInputError, match=documented):
        make(make_llm, additional_kwargs=kwargs)  # construction time
    llm = make(make_llm)
    with pytest.raises(mt.InvalidInputError, match=documented):
        llm.chat(USER, **kwargs)  # per call
    with pytest.raises(mt.InvalidInputError, match=documented):
        llm.stream_chat(USER, **kwargs)
    assert emulator.requests == []


def test_developer_role_is_sent_as_system(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make(make_llm)
    llm.chat([ChatMessage(role=MessageRole.DEVELOPER, content="Be brief."), *USER])
    (request,) = emulator.requests
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]


@pytest.mark.parametrize("mode", STREAMS)
def test_queued_stream_waits_past_the_idle_timeout(mode: str, make_llm: MakeLLM) -> None:
    scenario, settings = cases.QUEUED
    assert call(mode, make(make_llm, scenario, **settings)) == cases.ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_first_byte_timeout_and_idle_timeout(mode: str, make_llm: MakeLLM) -> None:
    for (scenario, settings), timeout in (
        (cases.SILENT, "first_byte_timeout"),
        (cases.STALLED, "stream_idle_timeout"),
    ):
        with pytest.raises(mt.APITimeoutError, match=timeout):
            call(mode, make(make_llm, scenario, **settings))


def test_first_byte_timeout_is_a_field_and_checked(make_llm: MakeLLM) -> None:
    assert make(make_llm).first_byte_timeout == 600.0
    assert make(make_llm, first_byte_timeout=30).first_byte_timeout == 30
    with pytest.raises(mt.InvalidInputError, match="first_byte_timeout"):
        make(make_llm, first_byte_timeout=0)
