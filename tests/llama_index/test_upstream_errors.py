"""ModelsLabLLM's own part of issue 10's upstream behaviours: documented ranges refused at
construction and per call, the developer role, the first_byte_timeout field (what both adapters
share: tests/fidelity/test_upstream_errors.py)."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

import modelslab_transport as mt
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support import upstream_cases as cases
from tests.support.models import PLAIN_MODEL, MakeLLM

USER = [ChatMessage(role=MessageRole.USER, content=cases.TEXT)]


def make(make_llm: MakeLLM, scenario: str | None = None, **kwargs: Any) -> ModelsLabLLM:
    kwargs.setdefault("model", PLAIN_MODEL)
    return make_llm(cases.unique(scenario), **kwargs)


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


def test_first_byte_timeout_is_a_field_and_checked(make_llm: MakeLLM) -> None:
    assert make(make_llm).first_byte_timeout == 600.0
    assert make(make_llm, first_byte_timeout=30).first_byte_timeout == 30
    with pytest.raises(mt.InvalidInputError, match="first_byte_timeout"):
        make(make_llm, first_byte_timeout=0)
