"""Both adapters against the upstream behaviours of issue 10: mid-stream errors keep the partial
text, non-JSON 200s are retried, cut streams are incomplete, OpenRouter 429 hints are honoured,
`status: success` is an answer, queued streams wait, silent and stalled streams time out. What
only one adapter has is in its own test_upstream_errors.py."""

from __future__ import annotations

from typing import Any

import pytest

import modelslab_transport as mt
from modelslab_emulator import Emulator
from tests.support import upstream_cases as cases
from tests.support.models import PLAIN_MODEL

from .sides import MODES, Side
from .turns import user

KEY = "sk-upstream-91f0"
STREAMS = ["stream", "astream"]


def call(side: Side, mode: str, model: Any) -> str:
    return side.ask(model, mode, side.messages([user(cases.TEXT)])).text


def model(side: Side, scenario: str, **fields: Any) -> Any:
    return side.model(scenario, api_key=KEY, model=PLAIN_MODEL, **fields)


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("scenario", cases.MID_STREAM_ERRORS)
def test_mid_stream_errors_are_server_errors_with_partial_text(
    side: Side, mode: str, scenario: str
) -> None:
    with pytest.raises(side.typed(mt.ServerError)) as info:
        call(side, mode, model(side, scenario, max_retries=0))
    assert isinstance(info.value, side.api_error)
    cases.check_mid_stream_error(info.value, KEY)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_whole_answer_ending_in_error_is_a_server_error(side: Side, mode: str) -> None:
    with pytest.raises(side.typed(mt.ServerError)) as info:
        call(side, mode, model(side, "finish-error", max_retries=0))
    assert isinstance(info.value, mt.ServerError) and info.value.partial_text == cases.ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_stream_cut_inside_a_line_is_incomplete(side: Side, mode: str) -> None:
    with pytest.raises(side.typed(mt.IncompleteStreamError)) as info:
        call(side, mode, model(side, "cut-mid-line;after=2", max_retries=0))
    assert isinstance(info.value, mt.IncompleteStreamError)
    assert info.value.partial_text == "You said: "


@pytest.mark.parametrize("mode", MODES)
def test_non_json_200_is_retried(side: Side, emulator: Emulator, mode: str) -> None:
    llm = model(side, "non-json-200")
    assert call(side, mode, llm) == cases.ANSWER
    assert cases.statuses(emulator, llm) == [200, 200]


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_non_json_200_that_persists_is_a_server_error(
    side: Side, emulator: Emulator, mode: str
) -> None:
    llm = model(side, "non-json-200;times=-1", max_retries=1)
    with pytest.raises(side.typed(mt.BadGatewayError), match="not JSON") as info:
        call(side, mode, llm)
    assert isinstance(info.value, side.typed(mt.ServerError))
    assert isinstance(info.value, side.api_error)
    assert cases.statuses(emulator, llm) == [200, 200]


def test_blank_lines_before_json_parse(side: Side) -> None:
    assert call(side, "sync", model(side, "blank-lines-200")) == cases.ANSWER


@pytest.mark.parametrize("mode", MODES)
def test_status_success_is_an_answer(side: Side, mode: str) -> None:
    assert call(side, mode, model(side, "status-success")) == cases.ANSWER


@pytest.mark.parametrize(
    "hint", ["openrouter-429;reset=0.6", "openrouter-429;reset=0.6;code_str=1"]
)
@pytest.mark.parametrize("mode", MODES)
def test_openrouter_429_hint_is_honoured(
    side: Side, emulator: Emulator, mode: str, hint: str
) -> None:
    assert call(side, mode, model(side, hint)) == cases.ANSWER
    first, second = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.received_at >= 0.45


@pytest.mark.parametrize("mode", STREAMS)
def test_queued_stream_waits_past_the_idle_timeout(side: Side, mode: str) -> None:
    scenario, settings = cases.QUEUED
    assert call(side, mode, model(side, scenario, **settings)) == cases.ANSWER


@pytest.mark.parametrize("mode", STREAMS)
def test_first_byte_timeout_and_idle_timeout(side: Side, mode: str) -> None:
    for (scenario, settings), timeout in (
        (cases.SILENT, "first_byte_timeout"),
        (cases.STALLED, "stream_idle_timeout"),
    ):
        with pytest.raises(side.timeout[-1], match=timeout) as info:
            call(side, mode, model(side, scenario, **settings))
        assert isinstance(info.value, mt.APITimeoutError)
