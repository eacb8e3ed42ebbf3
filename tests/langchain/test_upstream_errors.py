"""ChatModelsLab's own part of issue 10's upstream behaviours: a count without input tokens is
typed, X-API-Key on /v1, documented ranges refused at construction and per call, the developer
role, the first_byte_timeout field (what both adapters share is in
tests/fidelity/test_upstream_errors.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import ChatMessage, HumanMessage
from pydantic import ValidationError

from langchain_modelslab import ChatModelsLab
from langchain_modelslab._errors import (
    ModelsLabInvalidInputError,
    ModelsLabUnexpectedResponseError,
)
from modelslab_emulator import Emulator
from tests.support import upstream_cases as cases
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel

KEY = "sk-lc-upstream-91f0"
MODEL = "meta-llama-llama-3.1-8b-instruct"


chat_model_defaults = file_defaults(api_key=KEY, model=MODEL)


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


def test_first_byte_timeout_field(base_url: str) -> None:
    assert ChatModelsLab(api_key=KEY, base_url=base_url).first_byte_timeout == 600.0
    with pytest.raises(ValidationError, match="first_byte_timeout"):
        ChatModelsLab(api_key=KEY, base_url=base_url, first_byte_timeout=0)
