"""A unique canary key runs through every public path of both adapters, success and failure,
with every logger at DEBUG, LangChain callbacks, tracers, `astream_events` and serialisation,
LlamaIndex callbacks, instrumentation events, `repr`/`to_dict`/`to_json`, and every error's
message, repr, attributes and formatted (chained) traceback captured as text: the key's text
appears nowhere."""

from __future__ import annotations

import asyncio
import io
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from langchain_core.tracers.context import collect_runs
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.callbacks import CallbackManager, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

import modelslab_transport as mt
from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import SCENARIO_HEADER, Emulator
from tests.support.scenarios import unique

Expected = type[Exception] | tuple[type[Exception], ...] | None
KEY = f"sk-canary-{uuid.uuid4().hex}"
OTHER = f"sk-other-{uuid.uuid4().hex}"


class Sink:
    """Everything observable, as text."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, *values: Any) -> None:
        for value in values:
            self.parts.append(value if isinstance(value, str) else repr(value))

    def error(self, error: BaseException) -> None:
        self.add(str(error), repr(error), repr(error.args), repr(getattr(error, "__dict__", {})))
        self.add("".join(traceback.format_exception(type(error), error, error.__traceback__)))
        cause = error.__cause__ or error.__context__
        while cause is not None:
            self.add(repr(cause), repr(getattr(cause, "__dict__", {})))
            cause = cause.__cause__ or cause.__context__

    def text(self) -> str:
        return "\n".join(self.parts)


class Recorder(BaseCallbackHandler):
    """A LangChain callback handler recording every payload it is given."""

    raise_error = False

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def _record(self, *args: Any, **kwargs: Any) -> None:
        self.sink.add(args, kwargs)

    on_chat_model_start = on_llm_start = on_llm_new_token = on_llm_end = on_llm_error = _record
    on_chain_start = on_chain_end = on_chain_error = on_custom_event = on_retry = _record
    on_tool_start = on_tool_end = on_tool_error = on_text = _record


_SINKS: list[Sink] = []


class EventRecorder(BaseEventHandler):
    """A LlamaIndex instrumentation handler recording every event."""

    @classmethod
    def class_name(cls) -> str:
        return "CanaryEventRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        for sink in _SINKS:
            sink.add(event, event.model_dump(), kwargs)


_event_recorder = EventRecorder()
get_dispatcher().add_event_handler(_event_recorder)


@pytest.fixture(scope="module")
def good() -> Iterator[Emulator]:
    """Accepts the canary key only: every success proves the key was really sent."""
    with Emulator(api_keys=[KEY]) as emu:
        yield emu


@pytest.fixture(scope="module")
def locked() -> Iterator[Emulator]:
    """Accepts another key only: the canary gets a 401."""
    with Emulator(api_keys=[OTHER]) as emu:
        yield emu


@pytest.fixture
def sink() -> Iterator[Sink]:
    """Every logger at DEBUG into the sink, and the instrumentation events too."""
    sink = Sink()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict)
    ]
    levels = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    logging.getLogger().addHandler(handler)
    _SINKS.append(sink)
    try:
        yield sink
    finally:
        _SINKS.remove(sink)
        logging.getLogger().removeHandler(handler)
        for lg, level, disabled in levels:
            lg.setLevel(level)
            lg.disabled = disabled
        sink.add(stream.getvalue())
        assert "DEBUG" in stream.getvalue()  # the capture really saw debug logging
        text = sink.text()
        assert text
        assert KEY not in text


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    degrees: int


def get_weather(city: str) -> str:
    """Look up the weather in a city."""
    return f"sunny in {city}"


# -- the paths ----------------------------------------------------------------------------------


def lc_model(base_url: str, scenario: str | None = None, **options: Any) -> ChatModelsLab:
    headers = {SCENARIO_HEADER: unique(scenario)} if scenario else None
    options.setdefault("max_retries", 1)
    return ChatModelsLab(api_key=KEY, base_url=base_url, default_headers=headers, **options)


def li_model(base_url: str, scenario: str | None = None, **options: Any) -> ModelsLabLLM:
    headers = {SCENARIO_HEADER: unique(scenario)} if scenario else None
    options.setdefault("max_retries", 1)
    return ModelsLabLLM(api_key=KEY, base_url=base_url, default_headers=headers, **options)


def lc_success(llm: ChatModelsLab, sink: Sink) -> None:
    config = {"callbacks": [Recorder(sink)]}
    with collect_runs() as runs:
        sink.add(llm.invoke("hello", config=config))
        sink.add(list(llm.stream("hello", config=config)))
        sink.add(llm.batch(["one", "two"], config=config))
        sink.add(llm.bind_tools([get_weather]).invoke("get_weather in 'Paris'", config=config))
        sink.add(llm.with_structured_output(Weather).invoke("Weather in 'Rome' 21", config=config))

        async def go() -> None:
            sink.add(await llm.ainvoke("hello", config=config))
            sink.add([c async for c in llm.astream("hello", config=config)])
            sink.add(await llm.abatch(["one", "two"], config=config))
            sink.add([e async for e in llm.astream_events("hello", version="v2", config=config)])

        asyncio.run(go())
    for run in runs.traced_runs:
        sink.add(run, run.model_dump_json() if hasattr(run, "model_dump_json") else run.json())
    sink.add(dumps(llm), dumpd(llm), repr(llm), str(llm), llm.model_dump(), llm.model_dump_json())
    sink.add(llm._identifying_params, llm._get_ls_params(), llm.lc_attributes)
    sink.add(llm.__dict__)


def li_success(llm: ModelsLabLLM, sink: Sink) -> None:
    debug = LlamaDebugHandler()
    llm.callback_manager = CallbackManager([debug])
    user = [ChatMessage(role=MessageRole.USER, content="hello")]
    sink.add(llm.chat(user), list(llm.stream_chat(user)))
    sink.add(llm.complete("hello"), list(llm.stream_complete("hello")))
    tool = FunctionTool.from_defaults(fn=get_weather)
    response = llm.chat_with_tools([tool], user_msg="get_weather in 'Paris'")
    sink.add(response, llm.get_tool_calls_from_response(response))
    from llama_index.core.prompts import PromptTemplate

    sink.add(llm.structured_predict(Weather, PromptTemplate("Weather in 'Rome' 21")))

    async def go() -> None:
        sink.add(await llm.achat(user), await llm.acomplete("hello"))
        sink.add([r async for r in await llm.astream_chat(user)])
        sink.add([r async for r in await llm.astream_complete("hello")])
        await llm.aclose()

    asyncio.run(go())
    for event_type in debug.get_event_pairs():
        sink.add(event_type)
    sink.add(debug.get_llm_inputs_outputs())
    sink.add(repr(llm), str(llm), llm.to_dict(), llm.to_json(), llm.model_dump())
    sink.add(llm.model_dump_json(), llm.to_payload(), llm.metadata, llm.__dict__)


# name, scenario, options, the typed error of a plain call, of a streamed call (None: the
# call succeeds, as a non-streamed call does under a stream-only fault).
FAILURES: list[tuple[str, str | None, dict[str, Any], Expected, Expected]] = [
    ("401", None, {}, mt.AuthenticationError, mt.AuthenticationError),
    (
        "429",
        "rate-limit;times=-1;retry_after=0.01",
        {"queue_wait_budget": 0},
        mt.RateLimitError,
        mt.RateLimitError,
    ),
    ("5xx", "server-error;times=-1;status=503", {"max_retries": 0}, mt.ServerError, mt.ServerError),
    ("html", "html-502;times=-1", {"max_retries": 0}, mt.ServerError, mt.ServerError),
    ("error-200", "error-200", {}, mt.ServerError, mt.ServerError),
    ("mid-stream", "error-mid-stream", {}, None, mt.ServerError),
    (
        "drop",
        "drop-mid-stream",
        {"max_retries": 0},
        mt.APIConnectionError,
        (mt.APIConnectionError, mt.IncompleteStreamError),
    ),
    ("truncated", "truncated", {}, None, mt.IncompleteStreamError),
    ("timeout", "slow-first-byte;delay=0.5", {"timeout": 0.15}, *[mt.APITimeoutError] * 2),
    ("idle", "trickle;delay=0.4", {"stream_idle_timeout": 0.15}, None, mt.APITimeoutError),
    ("redirect", "redirect", {}, mt.UnexpectedResponseError, mt.UnexpectedResponseError),
    ("credits", "insufficient-credits", {}, *[mt.InsufficientCreditsError] * 2),
    ("unknown-model", None, {"model": "no-such-model-1"}, mt.NotFoundError, mt.NotFoundError),
    # The server puts the caller's key in its error message: only the scrubber keeps it out.
    ("echo-key-400", "echo-key;status=400", {}, mt.BadRequestError, mt.BadRequestError),
    ("echo-key-401", "echo-key;status=401", {}, *[mt.AuthenticationError] * 2),
    ("echo-key-5xx", "echo-key;status=500", {"max_retries": 0}, mt.ServerError, mt.ServerError),
]
PATHS_PER_FAILURE = 8  # sync/async x plain/stream, both adapters


def _expect_failure(call: Callable[[], Any], expected: Expected, sink: Sink) -> None:
    """Run one path: it raises exactly the expected typed error (captured whole into the sink),
    or, where `expected` is None, it succeeds."""
    if expected is None:
        sink.add(call())
        return
    with pytest.raises(expected) as info:
        sink.add(call())
    sink.error(info.value)


def test_langchain_success_paths(good: Emulator, sink: Sink) -> None:
    lc_success(lc_model(good.base_url), sink)
    assert "on_chat_model_stream" in sink.text()  # astream_events output was captured
    assert len(good.requests) >= 10  # every path really reached the server with the key


def test_llama_index_success_paths(good: Emulator, sink: Sink) -> None:
    li_success(li_model(good.base_url), sink)
    assert "LLMChatEndEvent" in sink.text() and "CBEventType.LLM" in sink.text()
    assert len(good.requests) >= 10


def test_retry_then_success_paths(good: Emulator, sink: Sink) -> None:
    for scenario in ("rate-limit;retry_after=0.01", "server-error;status=502"):
        lc = lc_model(good.base_url, scenario)
        sink.add(lc.invoke("retry me", config={"callbacks": [Recorder(sink)]}))
        li = li_model(good.base_url, scenario)
        sink.add(list(li.stream_chat([ChatMessage(role=MessageRole.USER, content="retry")])))


@pytest.mark.parametrize(
    ("name", "scenario", "options", "plain", "streamed"), FAILURES, ids=[f[0] for f in FAILURES]
)
def test_failure_paths(
    name: str,
    scenario: str | None,
    options: dict[str, Any],
    plain: Expected,
    streamed: Expected,
    good: Emulator,
    locked: Emulator,
    sink: Sink,
) -> None:
    base_url = locked.base_url if name == "401" else good.base_url
    user = [ChatMessage(role=MessageRole.USER, content="hello")]
    lc = lc_model(base_url, scenario, **options)
    li = li_model(base_url, scenario, **options)
    config = {"callbacks": [Recorder(sink)]}
    _expect_failure(lambda: lc.invoke("hello", config=config), plain, sink)
    _expect_failure(lambda: list(lc.stream("hello", config=config)), streamed, sink)
    _expect_failure(lambda: asyncio.run(lc.ainvoke("hello", config=config)), plain, sink)
    _expect_failure(lambda: li.chat(user), plain, sink)
    _expect_failure(lambda: list(li.stream_chat(user)), streamed, sink)
    _expect_failure(lambda: asyncio.run(li.achat(user)), plain, sink)

    async def lc_events() -> list[Any]:
        return [e async for e in lc.astream_events("hello", version="v2", config=config)]

    async def li_astream() -> list[Any]:
        try:
            return [r async for r in await li.astream_chat(user)]
        finally:
            await li.aclose()

    _expect_failure(lambda: asyncio.run(lc_events()), streamed, sink)
    _expect_failure(lambda: asyncio.run(li_astream()), streamed, sink)
    assert any("Error" in part for part in sink.parts)  # the failures were captured


CANARY_PATHS = (
    16  # LangChain: 9 calls (invoke ... astream_events), callbacks, runs, dumps, dumpd, views
    + 18  # LlamaIndex: 11 calls (chat ... structured_predict), callbacks, events, views
    + 4  # retried-then-successful calls
    + len(FAILURES) * PATHS_PER_FAILURE
)
