"""Bad input is refused with a clear, typed error before any request is sent, by both adapters,
in every mode (sync/async x streaming/non-streaming)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import ChatMessage as LCMessage
from llama_index.core.base.llms.types import ChatMessage as LIMessage
from llama_index.core.base.llms.types import MessageRole, TextBlock
from pydantic import ValidationError

from modelslab_emulator import Emulator
from tests.support.adapter_modes import MODES, make, scenario

KEY = "sk-bad-input-2c9e41"
HELLO_LC = "hello"
HELLO_LI = [LIMessage(role=MessageRole.USER, content="hello")]


def _tool(parameters: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}


NOT_JSON_TOOL = _tool(
    {"type": "object", "properties": {"x": {"type": "string", "default": object()}}}
)
STRING_TOOL = _tool({"type": "string"})
LIST_TOOL = _tool(["x"])
FIVE_STOPS = ["a", "b", "c", "d", "e"]


@dataclass(frozen=True)
class Bad:
    """One bad input: model options, call input and call kwargs; the error must match."""

    name: str
    fragment: str  # the error message names what was wrong (regex, case-insensitive)
    options: dict[str, Any] = field(default_factory=dict)
    input: Any = None  # None: a valid hello
    kwargs: dict[str, Any] = field(default_factory=dict)
    tools: list[Any] | None = None  # LangChain: bind_tools(tools)
    xfail: str | None = None
    refused_at_call: bool = False  # a bad option that is checked when a call is made
    # Why the framework's own validation, not the adapter's, refuses this input (its pydantic
    # ValidationError is then accepted); None: the adapter must refuse it itself.
    framework: str | None = None

    @property
    def at_construction(self) -> bool:
        """A bad option is refused when the model is built: one check, not one per mode."""
        return bool(self.options) and not self.refused_at_call


# Out-of-range values, per call and as settings: both adapters refuse them alike.
LIMITS = [
    Bad("temperature-5-call", "temperature", kwargs={"temperature": 5}),
    Bad("max-tokens-0-call", "max_tokens", kwargs={"max_tokens": 0}),
    Bad("n-11-call", r"\bn\b", kwargs={"n": 11}),
    Bad("five-stops-call", "stop", kwargs={"stop": FIVE_STOPS}),
    Bad("temperature-5", "temperature", options={"temperature": 5}),
    Bad("max-tokens-0", "max_tokens", options={"max_tokens": 0}),
]
LANGCHAIN = [
    Bad("empty-messages", "empty", input=[]),
    Bad("unknown-role", "wizard", input=[LCMessage(role="wizard", content="hi")]),
    Bad("unknown-role-tuple", "wizard", input=[("wizard", "hi")]),
    Bad("wrong-type-input", "input type", input=42),
    Bad(
        "wrong-type-message",
        "int",
        input=[42],
    ),
    Bad("tool-not-json", "JSON-serialisable", tools=[NOT_JSON_TOOL]),
    Bad("tool-not-object", "object", tools=[STRING_TOOL]),
    Bad("tool-schema-list", "object", tools=[LIST_TOOL]),
    *LIMITS,
    Bad("n-11", r"\bn\b", options={"n": 11}),
    Bad("five-stops", "stop", options={"stop": FIVE_STOPS}),
    Bad("base-url-no-scheme", "scheme", options={"base_url": "127.0.0.1:8765/api/v7/llm"}),
    Bad("http-non-loopback", "plain http", options={"base_url": "http://modelslab.com/api/v7"}),
    Bad("empty-key", "empty", options={"api_key": ""}, refused_at_call=True),
]
# llama-index-core checks each message's type in the LLMChatStartEvent it emits before calling
# the adapter.
_LI_EVENT = "llama-index-core's LLMChatStartEvent validates the messages before the adapter runs"
LLAMA_INDEX = [
    Bad("empty-messages", "empty", input=[]),
    Bad(
        "unknown-role",
        "wizard",
        input=[
            LIMessage.model_construct(
                role="wizard", blocks=[TextBlock(text="hi")], additional_kwargs={}
            )
        ],
    ),
    Bad("wrong-type-str", "ChatMessage", input=["hi"], framework=_LI_EVENT),
    Bad("wrong-type-int", "ChatMessage", input=[42], framework=_LI_EVENT),
    Bad("tool-not-json", "JSON-serialisable", kwargs={"tools": [NOT_JSON_TOOL]}),
    Bad("tool-not-object", "object", kwargs={"tools": [STRING_TOOL]}),
    Bad("tool-schema-list", "object", kwargs={"tools": [LIST_TOOL]}),
    *LIMITS,
    Bad("n-11", r"\bn\b", options={"additional_kwargs": {"n": 11}}),
    Bad(
        "five-stops",
        "stop",
        options={"additional_kwargs": {"stop": FIVE_STOPS}},
    ),
    Bad("base-url-no-scheme", "scheme", options={"base_url": "127.0.0.1:8765/api/v7/llm"}),
    Bad("http-non-loopback", "plain http", options={"base_url": "http://modelslab.com/api/v7"}),
    Bad("empty-key", "empty", options={"api_key": ""}),
]
CASES = [("langchain", bad) for bad in LANGCHAIN] + [("llama_index", bad) for bad in LLAMA_INDEX]
BAD_INPUTS = len(CASES)


def _params(*, at_construction: bool) -> list[Any]:
    params = []
    for adapter, bad in CASES:
        if bad.at_construction != at_construction:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=bad.xfail)] if bad.xfail else []
        params.append(pytest.param(adapter, bad, marks=marks, id=f"{adapter}-{bad.name}"))
    return params


def _run(adapter: str, mode: str, llm: Any, bad: Bad) -> None:
    value = bad.input() if callable(bad.input) else bad.input
    if adapter == "langchain":
        target = llm.bind_tools(bad.tools) if bad.tools is not None else llm
        prompt = HELLO_LC if value is None else value
        runs: dict[str, Callable[[], Any]] = {
            "sync": lambda: target.invoke(prompt, **bad.kwargs),
            "sync-stream": lambda: list(target.stream(prompt, **bad.kwargs)),
            "async": lambda: asyncio.run(target.ainvoke(prompt, **bad.kwargs)),
            "async-stream": lambda: asyncio.run(_drain(target.astream(prompt, **bad.kwargs))),
        }
    else:
        messages = HELLO_LI if value is None else value
        runs = {
            "sync": lambda: llm.chat(messages, **bad.kwargs),
            "sync-stream": lambda: list(llm.stream_chat(messages, **bad.kwargs)),
            "async": lambda: asyncio.run(llm.achat(messages, **bad.kwargs)),
            "async-stream": lambda: asyncio.run(_adrain(llm, messages, bad.kwargs)),
        }
    runs[mode]()


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


async def _adrain(llm: Any, messages: Any, kwargs: dict[str, Any]) -> None:
    async for _ in await llm.astream_chat(messages, **kwargs):
        pass


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("adapter", "bad"), _params(at_construction=False))
def test_bad_input_is_refused_before_sending(
    adapter: str, bad: Bad, mode: str, emulator: Emulator
) -> None:
    value = scenario("extra-fields")
    options = {"api_key": KEY, "base_url": emulator.base_url, "scenario": value, **bad.options}
    llm = make(adapter, **options)  # builds fine: the call is what must be refused
    # ValueError covers InvalidInputError and pydantic's ValidationError; the message must
    # name what was wrong.
    with pytest.raises(ValueError, match=f"(?i){bad.fragment}") as info:
        _run(adapter, mode, llm, bad)
    error = info.value
    if bad.framework is None:
        assert not isinstance(error, ValidationError)  # the adapter's, not the framework's
    assert KEY not in f"{error} {error!r} {vars(error)!r}"
    assert not [r for r in emulator.requests if r.scenario == value]  # nothing was sent


@pytest.mark.parametrize(("adapter", "bad"), _params(at_construction=True))
def test_bad_option_is_refused_at_construction(adapter: str, bad: Bad, emulator: Emulator) -> None:
    options = {"api_key": KEY, "base_url": emulator.base_url, **bad.options}
    with pytest.raises(ValueError, match=f"(?i){bad.fragment}") as info:
        make(adapter, **options)
    error = info.value
    assert KEY not in f"{error} {error!r} {vars(error)!r}"
    assert not emulator.requests  # nothing was sent
