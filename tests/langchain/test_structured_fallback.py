"""with_structured_output(method="json_schema") when the provider refuses the format.

Against the emulator's refuse-json-schema / refuse-json-mode scenarios over loopback: the chain
falls back to JSON mode (the schema told in the system message), then to a forced function
call, and still returns the parsed object; other errors propagate unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

import modelslab_transport as mt
from langchain_modelslab import (
    ChatModelsLab,
    ModelsLabAuthenticationError,
    ModelsLabServerError,
)
from modelslab_emulator import Emulator
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel
from tests.support.schemas import PROMPT, Person, PersonDict

KEY = "test-key-structured-fallback-4c2b"
ADA = {"name": "Ada", "age": 36}


chat_model_defaults = file_defaults(api_key=KEY)


def sent(emulator: Emulator, llm: ChatModelsLab) -> list[str]:
    """What each chat request of `llm` asked for: its response_format type, or "tools"."""
    header = (llm.default_headers or {})["X-Emulator-Scenario"]
    kinds = []
    for request in emulator.requests:
        if request.scenario != header or not request.path.endswith("/chat/completions"):
            continue
        body = request.body
        fmt = body.get("response_format")
        kinds.append(fmt["type"] if fmt else "tools" if body.get("tools") else "plain")
    return kinds


def _requests(emulator: Emulator, llm: ChatModelsLab) -> list[dict[str, Any]]:
    header = (llm.default_headers or {})["X-Emulator-Scenario"]
    return [r.body for r in emulator.requests if r.scenario == header]


@pytest.mark.parametrize("scenario", ["refuse-json-schema", "refuse-json-schema;status=400"])
@pytest.mark.parametrize("schema", [Person, PersonDict, Person.model_json_schema()])
def test_refused_json_schema_falls_back_to_json_mode(
    make_chat_model: MakeChatModel, emulator: Emulator, scenario: str, schema: Any
) -> None:
    llm = make_chat_model(scenario)
    result = llm.with_structured_output(schema, method="json_schema").invoke(PROMPT)
    assert (result.model_dump() if isinstance(result, BaseModel) else result) == ADA
    assert isinstance(result, Person) == (schema is Person)
    assert sent(emulator, llm) == ["json_schema", "json_object"]
    retry = _requests(emulator, llm)[1]
    # JSON mode has no schema field: it travels in the (single, first) system message
    assert retry["messages"][0]["role"] == "system"
    assert '"age"' in retry["messages"][0]["content"]
    assert [m["role"] for m in retry["messages"]] == ["system", "user"]
    assert "tools" not in retry


def test_refused_json_mode_falls_back_to_function_calling(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    llm = make_chat_model("refuse-json-mode")
    assert llm.with_structured_output(Person, method="json_schema").invoke(PROMPT) == Person(**ADA)
    assert sent(emulator, llm) == ["json_schema", "json_object", "tools"]
    forced = _requests(emulator, llm)[2]
    assert forced["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    assert forced["messages"] == [{"role": "user", "content": PROMPT}]


async def test_async_fallbacks(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model("refuse-json-schema")
    structured = llm.with_structured_output(PersonDict, method="json_schema")
    assert await structured.ainvoke(PROMPT) == ADA
    assert sent(emulator, llm) == ["json_schema", "json_object"]
    llm = make_chat_model("refuse-json-mode")
    structured = llm.with_structured_output(Person, method="json_schema")
    assert await structured.ainvoke(PROMPT) == Person(**ADA)
    assert sent(emulator, llm) == ["json_schema", "json_object", "tools"]


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("refuse-json-schema", ["json_schema", "json_object"]),
        ("refuse-json-mode", ["json_schema", "json_object", "tools"]),
    ],
)
async def test_streaming_falls_back_before_the_first_chunk(
    make_chat_model: MakeChatModel, emulator: Emulator, scenario: str, expected: list[str]
) -> None:
    llm = make_chat_model(scenario)
    chunks = list(llm.with_structured_output(Person, method="json_schema").stream(PROMPT))
    assert chunks and chunks[-1] == Person(**ADA)
    assert sent(emulator, llm) == expected
    llm = make_chat_model(scenario)
    structured = llm.with_structured_output(PersonDict, method="json_schema")
    achunks = [c async for c in structured.astream(PROMPT)]
    assert achunks and achunks[-1] == ADA
    assert sent(emulator, llm) == expected


def test_inside_a_chain_with_a_prompt(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model("refuse-json-mode")
    prompt = ChatPromptTemplate.from_messages([("system", "Be exact."), ("user", "{text}")])
    chain = prompt | llm.with_structured_output(Person, method="json_schema")
    assert list(chain.stream({"text": PROMPT}))[-1] == Person(**ADA)
    json_mode = _requests(emulator, llm)[1]
    # the schema joins the caller's system message rather than adding a second one
    assert [m["role"] for m in json_mode["messages"]] == ["system", "user"]
    assert json_mode["messages"][0]["content"].startswith("Be exact.\n\n")


@pytest.mark.parametrize(
    ("scenario", "method"), [("refuse-json-schema", "json_mode"), ("refuse-json-mode", "tools")]
)
def test_include_raw_shows_the_call_that_answered(
    make_chat_model: MakeChatModel, emulator: Emulator, scenario: str, method: str
) -> None:
    llm = make_chat_model(scenario)
    out = llm.with_structured_output(Person, method="json_schema", include_raw=True).invoke(PROMPT)
    assert out["parsed"] == Person(**ADA) and out["parsing_error"] is None
    raw = out["raw"]
    assert isinstance(raw, AIMessage)
    if method == "tools":
        assert [(c["name"], c["args"]) for c in raw.tool_calls] == [("Person", ADA)]
    else:
        assert raw.tool_calls == [] and Person.model_validate_json(raw.text) == Person(**ADA)


def test_the_working_method_is_remembered_per_runnable(
    make_chat_model: MakeChatModel, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm = make_chat_model("refuse-json-mode")
    structured = llm.with_structured_output(Person, method="json_schema")
    with caplog.at_level(logging.WARNING, logger="langchain_modelslab"):
        structured.invoke(PROMPT)
        structured.invoke(PROMPT)
    assert sent(emulator, llm) == ["json_schema", "json_object", "tools", "tools"]
    warnings = [r for r in caplog.records if r.name == "langchain_modelslab"]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.WARNING]
    text = " | ".join(r.getMessage() for r in warnings)
    assert "'json_schema'" in text and "'json_mode'" in text and "'function_calling'" in text
    assert KEY not in text and "Ada" not in text  # neither the key nor the request
    # a new runnable starts again from json_schema
    llm.with_structured_output(Person, method="json_schema").invoke(PROMPT)
    assert sent(emulator, llm)[4:] == ["json_schema", "json_object", "tools"]


def test_no_refusal_no_fallback(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model("refuse-json-schema;times=0")
    assert llm.with_structured_output(Person, method="json_schema").invoke(PROMPT) == Person(**ADA)
    assert sent(emulator, llm) == ["json_schema"]


@pytest.mark.parametrize("stream", [False, True])
def test_unrelated_errors_propagate_typed(
    make_chat_model: MakeChatModel, emulator: Emulator, stream: bool
) -> None:
    llm = make_chat_model("http-error;status=401;message=Invalid API key")
    structured = llm.with_structured_output(Person, method="json_schema")
    with pytest.raises(ModelsLabAuthenticationError) as auth:
        list(structured.stream(PROMPT)) if stream else structured.invoke(PROMPT)
    assert isinstance(auth.value, mt.AuthenticationError) and auth.value.status_code == 401
    assert sent(emulator, llm) == ["json_schema"]

    llm = make_chat_model("http-error;status=500;message=Provider returned error", max_retries=1)
    structured = llm.with_structured_output(Person, method="json_schema")
    with pytest.raises(ModelsLabServerError) as server:
        list(structured.stream(PROMPT)) if stream else structured.invoke(PROMPT)
    assert server.value.status_code == 500
    assert sent(emulator, llm) == ["json_schema", "json_schema"]  # retried, never fallen back


async def test_unrelated_errors_propagate_typed_async(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    llm = make_chat_model("http-error;status=400;message=Invalid temperature")
    structured = llm.with_structured_output(Person, method="json_schema")
    with pytest.raises(mt.BadRequestError, match="Invalid temperature"):
        await structured.ainvoke(PROMPT)
    assert sent(emulator, llm) == ["json_schema"]


def test_other_methods_do_not_fall_back(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model("refuse-json-mode")
    with pytest.raises(mt.ModelsLabError, match="Provider returned error"):
        llm.with_structured_output(Person, method="json_mode").invoke(PROMPT)
    assert sent(emulator, llm) == ["json_object"]


def test_one_traced_run_holds_every_attempt(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Runs(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
            if kwargs.get("parent_run_id") is None:
                self.seen.append(f"root:{kwargs.get('name')}")

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            fmt = kwargs["invocation_params"].get("response_format") or {"type": "tools"}
            self.seen.append(fmt["type"])

    llm = make_chat_model("refuse-json-mode")
    runs = Runs()
    structured = llm.with_structured_output(Person, method="json_schema")
    assert structured.invoke(PROMPT, config={"callbacks": [runs]}) == Person(**ADA)
    assert runs.seen == ["root:ModelsLabStructuredOutput", "json_schema", "json_object", "tools"]
