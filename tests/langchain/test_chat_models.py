"""ChatModelsLab over real sockets against the emulator: calls, streaming, tools, structure."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator
from tests.support.langchain_streams import aggregate
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel
from tests.support.schemas import PROMPT, Person, PersonDict

KEY = "test-key-chat-models-0123"
MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"


chat_model_defaults = file_defaults(api_key=KEY)


def same_answer(invoked: AIMessage, streamed: AIMessageChunk) -> None:
    """The fields a stream's sum must share with invoke (ids differ per call by design)."""
    assert streamed.content == invoked.content
    assert streamed.additional_kwargs == invoked.additional_kwargs
    assert streamed.usage_metadata == invoked.usage_metadata
    assert streamed.invalid_tool_calls == invoked.invalid_tool_calls
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [
        (c["name"], c["args"]) for c in invoked.tool_calls
    ]
    strip = {"id"}
    assert {k: v for k, v in streamed.response_metadata.items() if k not in strip} == {
        k: v for k, v in invoked.response_metadata.items() if k not in strip
    }


# -- invoke / stream basics --------------------------------------------------------------------


def test_invoke_answer_reasoning_usage_metadata(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    msg = make_chat_model().invoke("Hello there")
    assert isinstance(msg, AIMessage)
    assert msg.content == "You said: Hello there"
    reasoning = msg.additional_kwargs["reasoning_content"]
    assert reasoning and "<think>" not in msg.text and reasoning not in msg.text
    assert msg.content_blocks == [
        {"type": "reasoning", "reasoning": reasoning},
        {"type": "text", "text": "You said: Hello there"},
    ]
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == 2
    assert msg.usage_metadata["total_tokens"] == (
        msg.usage_metadata["input_tokens"] + msg.usage_metadata["output_tokens"]
    )
    assert msg.usage_metadata.get("output_token_details", {}).get("reasoning", 0) > 0
    meta = msg.response_metadata
    assert meta["model_name"] == MAGISTRAL
    assert meta["finish_reason"] == "stop"
    assert meta["model_provider"] == "modelslab"
    assert meta["id"]
    body = emulator.requests[-1].body
    assert body["model_id"] == MAGISTRAL
    # Magistral's model-card sampling defaults fill in when unset.
    assert (body["temperature"], body["top_p"]) == (0.7, 0.95)
    assert body["stream"] is False


def test_explicit_params_reach_the_body(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model(
        model=LLAMA,
        temperature=0.1,
        max_tokens=50,
        top_p=0.5,
        top_k=20,
        frequency_penalty=0.1,
        presence_penalty=0.2,
        repetition_penalty=1.1,
        seed=7,
        stop=["zzz"],
        model_kwargs={"logprobs": False},
    )
    llm.invoke("hi")
    body = emulator.requests[-1].body
    for name, value in {
        "temperature": 0.1,
        "max_tokens": 50,
        "top_p": 0.5,
        "top_k": 20,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.2,
        "repetition_penalty": 1.1,
        "seed": 7,
        "stop": ["zzz"],
        "logprobs": False,
    }.items():
        assert body[name] == value, name
    # Unset fields take the model's own card (Llama 3.1: 0.6 / 0.9), not Magistral's.
    make_chat_model(model=LLAMA).invoke("hi")
    body = emulator.requests[-1].body
    assert (body["temperature"], body["top_p"]) == (0.6, 0.9)


def test_stream_token_by_token_equals_invoke(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    invoked = llm.invoke("Tell me about streaming now")
    chunks = list(llm.stream("Tell me about streaming now"))
    assert len([c for c in chunks if c.content]) >= 5  # one token per chunk
    assert all(isinstance(c.content, str) for c in chunks)
    # The thinking streams apart from the answer: none of it, and no think tag, in the content.
    reasoning = invoked.additional_kwargs["reasoning_content"]
    content = "".join(str(c.content) for c in chunks)
    assert reasoning and reasoning not in content and "think>" not in content
    streamed = "".join(c.additional_kwargs.get("reasoning_content", "") for c in chunks)
    assert streamed == reasoning
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert chunks[-1].response_metadata["model_name"] == MAGISTRAL
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    # Every chunk names its provider, so each reads as content blocks on its own.
    assert all(c.response_metadata["model_provider"] == "modelslab" for c in chunks)
    text = next(c for c in chunks if c.content)
    assert text.content_blocks == [{"type": "text", "text": text.content}]
    thought = next(c for c in chunks if c.additional_kwargs.get("reasoning_content"))
    assert [b["type"] for b in thought.content_blocks] == ["reasoning"]
    same_answer(invoked, aggregate(chunks))


async def test_astream_equals_ainvoke(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    invoked = await llm.ainvoke("Async streaming check")
    chunks = [c async for c in llm.astream("Async streaming check")]
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert chunks[-1].chunk_position == "last"
    same_answer(invoked, aggregate(chunks))


@pytest.mark.parametrize(
    "scenario", ["reasoning-field", "reasoning-openrouter", "think-split", "content-blocks"]
)
def test_reasoning_never_reaches_content(make_chat_model: MakeChatModel, scenario: str) -> None:
    llm = make_chat_model(default_headers={"X-Emulator-Scenario": scenario})
    invoked = llm.invoke("Where is the reasoning")
    streamed = aggregate(list(llm.stream("Where is the reasoning")))
    for msg in (invoked, streamed):
        assert msg.content == "You said: Where is the reasoning"
        assert msg.additional_kwargs["reasoning_content"].startswith("The user wrote 4 words")
    same_answer(invoked, streamed)


def test_output_version_v1_gives_reasoning_and_text_blocks(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model(output_version="v1")
    msg = llm.invoke("version one")
    assert [b["type"] for b in msg.content] == ["reasoning", "text"]  # type: ignore[index]
    streamed = aggregate(list(llm.stream("version one")))
    assert [b["type"] for b in streamed.content_blocks] == ["reasoning", "text"]
    assert streamed.text == msg.text == "You said: version one"


def test_usage_on_exactly_one_chunk_in_every_usage_variant(make_chat_model: MakeChatModel) -> None:
    for scenario in ("usage-on-last-chunk", ""):
        llm = make_chat_model(
            default_headers={"X-Emulator-Scenario": scenario} if scenario else None
        )
        chunks = list(llm.stream("count my words please"))
        assert sum(1 for c in chunks if c.usage_metadata) == 1, scenario
    quiet = make_chat_model(default_headers={"X-Emulator-Scenario": "no-usage"})
    chunks = list(quiet.stream("count my words please"))
    assert all(c.usage_metadata is None for c in chunks)
    assert aggregate(chunks).text == "You said: count my words please"


def test_stream_usage_off_does_not_ask(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    list(make_chat_model(stream_usage=False).stream("hi"))
    assert emulator.requests[-1].body["stream_options"] == {"include_usage": False}
    list(make_chat_model().stream("hi"))
    assert emulator.requests[-1].body["stream_options"] == {"include_usage": True}


def test_max_tokens_stop_and_n(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model(model=LLAMA)
    cut = llm.invoke("one two three four five six", max_tokens=3)
    assert cut.response_metadata["finish_reason"] == "length"
    stopped = llm.invoke("alpha beta gamma", stop=["beta"])
    assert "beta" not in stopped.text and "alpha" in stopped.text
    result = make_chat_model(model=LLAMA, n=2).generate([[HumanMessage("twice")]])
    assert [g.text for g in result.generations[0]] == ["You said: twice"] * 2
    with pytest.raises(ValueError, match="n > 1"):
        list(make_chat_model(model=LLAMA, n=2).stream("no"))


def test_model_override_per_call(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model()
    msg = llm.invoke("hi", model=LLAMA)
    assert msg.response_metadata["model_name"] == LLAMA
    assert "reasoning_content" not in msg.additional_kwargs
    assert emulator.requests[-1].body["model_id"] == LLAMA
    assert llm._get_ls_params(model=LLAMA)["ls_model_name"] == LLAMA


def test_batch_and_abatch(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    outs = llm.batch(["one", "two", "three"])
    assert [m.text for m in outs] == ["You said: one", "You said: two", "You said: three"]


async def test_abatch(make_chat_model: MakeChatModel) -> None:
    outs = await make_chat_model().abatch(["one", "two"])
    assert [m.text for m in outs] == ["You said: one", "You said: two"]


async def test_astream_events(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    events = [e async for e in llm.astream_events("events please", version="v2")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "on_chat_model_start" and kinds[-1] == "on_chat_model_end"
    streamed = [e for e in events if e["event"] == "on_chat_model_stream"]
    text = "".join(str(e["data"]["chunk"].content) for e in streamed)
    assert text == "You said: events please"
    assert KEY not in repr(events)


def test_multimodal_input_is_sent_as_parts(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    image = {"type": "image", "url": "https://x.test/cat.png"}
    msg = make_chat_model().invoke(
        [HumanMessage([{"type": "text", "text": "what is this"}, image])]
    )
    assert msg.text == "You said: what is this"
    content = emulator.requests[-1].body["messages"][0]["content"]
    assert content[1] == {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}}


# -- tools -------------------------------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny, 21C"


@tool
def get_time(city: str) -> str:
    """Local time in a city."""
    return "09:00"


class Forecast(BaseModel):
    """A forecast request."""

    city: str = Field(description="city name")
    days: int = Field(description="number of days")


class Alarm(TypedDict):
    """Set an alarm."""

    hour: int


def test_tool_calls_invoke_and_stream_agree(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    llm = make_chat_model().bind_tools([get_weather, get_time])
    prompt = 'Call get_weather and get_time for "Paris"'
    invoked = llm.invoke(prompt)
    assert isinstance(invoked, AIMessage)
    assert [(c["name"], c["args"]) for c in invoked.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"city": "Paris"}),
    ]
    assert invoked.response_metadata["finish_reason"] == "tool_calls"
    chunks = list(llm.stream(prompt))
    pieces = [tc for c in chunks for tc in c.tool_call_chunks]
    assert {p["index"] for p in pieces} == {0, 1}
    assert [p["id"] for p in pieces if p["id"]] == [c["id"] for c in aggregate(chunks).tool_calls]
    same_answer(invoked, aggregate(chunks))
    body = emulator.requests[-1].body
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]


@pytest.mark.parametrize("scenario", ["multi-tool-chunk", "repeat-tool-id", "no-tool-index"])
def test_tool_call_stream_variants(make_chat_model: MakeChatModel, scenario: str) -> None:
    llm = make_chat_model(default_headers={"X-Emulator-Scenario": scenario})
    bound = llm.bind_tools([get_weather, get_time])
    full = aggregate(list(bound.stream('use get_weather and get_time for "Rome"')))
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("get_weather", {"city": "Rome"}),
        ("get_time", {"city": "Rome"}),
    ]
    assert len({c["id"] for c in full.tool_calls}) == 2


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("Forecast", {"type": "function", "function": {"name": "Forecast"}}),
        ({"type": "function", "function": {"name": "Alarm"}}, None),
    ],
)
def test_tool_choice_forms_force_calls(
    make_chat_model: MakeChatModel, emulator: Emulator, choice: Any, wire: Any
) -> None:
    llm = make_chat_model(model=LLAMA).bind_tools(
        [Forecast, Alarm, get_weather], tool_choice=choice, parallel_tool_calls=False
    )
    msg = llm.invoke("Plan 3 days in Oslo, wake me at 7")
    assert isinstance(msg, AIMessage) and msg.tool_calls
    body = emulator.requests[-1].body
    assert body["tool_choice"] == (wire if wire is not None else choice)
    assert body["parallel_tool_calls"] is False
    if choice == "Forecast":
        assert msg.tool_calls[0]["name"] == "Forecast"
        assert msg.tool_calls[0]["args"]["days"] == 3


def test_tool_choice_none_and_auto_do_not_force(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model(model=LLAMA)
    assert (
        not llm.bind_tools([get_weather], tool_choice="none").invoke("get_weather now").tool_calls
    )
    assert not llm.bind_tools([get_weather], tool_choice="auto").invoke("just chat").tool_calls


def test_unicode_tool_arguments(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model(model=LLAMA).bind_tools([get_weather], tool_choice="get_weather")
    msg = llm.invoke('get_weather for "São Paulo 東京"')
    assert msg.tool_calls[0]["args"] == {"city": "São Paulo 東京"}


def test_tool_round_trip_uses_results(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    llm = make_chat_model().bind_tools([get_weather])
    question = HumanMessage('What does get_weather say for "Paris"?')
    call = llm.invoke([question])
    assert isinstance(call, AIMessage)
    result = get_weather.invoke(call.tool_calls[0])
    answer = llm.invoke([question, call, result])
    assert "sunny, 21C" in answer.text
    sent = emulator.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"]
    assert "reasoning" not in json.dumps(sent[1]).lower()


# -- structured output -------------------------------------------------------------------------


PERSON_SCHEMA = Person.model_json_schema()


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
@pytest.mark.parametrize("schema", [Person, PersonDict, PERSON_SCHEMA])
def test_structured_output_methods(
    make_chat_model: MakeChatModel, method: str, schema: Any
) -> None:
    structured = make_chat_model().with_structured_output(schema, method=method)  # type: ignore[arg-type]
    result = structured.invoke(PROMPT)
    as_dict = result.model_dump() if isinstance(result, BaseModel) else result
    assert as_dict == {"name": "Ada", "age": 36}
    assert isinstance(result, Person) == (schema is Person)


async def test_structured_output_async_and_streaming(make_chat_model: MakeChatModel) -> None:
    structured = make_chat_model().with_structured_output(Person)
    assert await structured.ainvoke(PROMPT) == Person(name="Ada", age=36)
    chunks = list(structured.stream(PROMPT))
    assert chunks and chunks[-1] == Person(name="Ada", age=36)


def test_json_mode(make_chat_model: MakeChatModel, emulator: Emulator) -> None:
    structured = make_chat_model().with_structured_output({"type": "object"}, method="json_mode")
    result = structured.invoke('Return JSON with "setup" and "punchline"')
    assert set(result) == {"setup", "punchline"}  # type: ignore[arg-type]
    assert emulator.requests[-1].body["response_format"] == {"type": "json_object"}


def test_include_raw_reports_parse_errors(make_chat_model: MakeChatModel) -> None:
    # json_mode with a schema the emulator's answer does not satisfy.
    structured = make_chat_model().with_structured_output(
        Person, method="json_mode", include_raw=True
    )
    out = structured.invoke("no quoted keys here")
    assert isinstance(out, dict)
    assert isinstance(out["raw"], AIMessage)
    assert out["parsed"] is None
    assert out["parsing_error"] is not None
    ok = make_chat_model().with_structured_output(Person, include_raw=True).invoke(PROMPT)
    assert ok["parsed"] == Person(name="Ada", age=36) and ok["parsing_error"] is None  # type: ignore[index]


def test_refusal_raises_model_refusal_error() -> None:
    from langchain_core.exceptions import ModelRefusalError
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.output_parsers import JsonOutputParser

    from langchain_modelslab._structured import assemble

    refused = AIMessage(
        "", response_metadata={"finish_reason": "content_filter", "model_provider": "modelslab"}
    )
    fake = FakeMessagesListChatModel(responses=[refused, refused])
    with pytest.raises(ModelRefusalError, match="content_filter"):
        assemble(fake, JsonOutputParser(), include_raw=False).invoke("x")
    out = assemble(fake, JsonOutputParser(), include_raw=True).invoke("x")
    assert isinstance(out["parsing_error"], ModelRefusalError)


def test_structured_output_rejects_bad_method(make_chat_model: MakeChatModel) -> None:
    with pytest.raises(ValueError, match="method"):
        make_chat_model().with_structured_output(Person, method="xml")  # type: ignore[arg-type]


# -- tokens, models, identity ------------------------------------------------------------------


def test_token_counts_offline_and_exact(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    messages: list[BaseMessage] = [HumanMessage("one two three four")]
    approx = ChatModelsLab(api_key=KEY, base_url="http://127.0.0.1:9").get_num_tokens_from_messages(
        messages
    )
    assert approx > 0  # no request: port 9 would refuse
    assert llm.count_tokens(messages) == 4
    assert llm.get_num_tokens("abcdefgh") == 2


async def test_async_tokens_and_models(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    assert await llm.acount_tokens([HumanMessage("one two")]) == 2
    ids = [m["id"] for m in await llm.alist_models()]
    assert MAGISTRAL in ids
    assert [m["id"] for m in llm.list_models()] == ids


def test_identity_and_profile(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model(temperature=0.2, max_tokens=9, stop=["x"])
    assert llm._llm_type == "modelslab-chat"
    params = llm._get_ls_params()
    assert params["ls_provider"] == "modelslab"
    assert params["ls_model_name"] == MAGISTRAL
    assert (params["ls_temperature"], params["ls_max_tokens"], params["ls_stop"]) == (0.2, 9, ["x"])
    assert llm.profile is not None and llm.profile["reasoning_output"] is True
    assert llm.profile["max_input_tokens"] == 40_960
    llama = make_chat_model(model=LLAMA).profile
    assert llama is not None and llama["reasoning_output"] is False
    assert llama["max_input_tokens"] == 131_072
    assert make_chat_model(model="not-in-the-catalogue").profile is None


# -- server behaviours the emulator does not script (an httpx MockTransport stands in) -------


def _completion(content: str, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "gen-mock",
        "model": MAGISTRAL,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def _mock_model(handler: Any) -> ChatModelsLab:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return ChatModelsLab(api_key=KEY, base_url="https://mock.test/api/v7/llm", http_client=http)


def test_json_schema_falls_back_to_json_mode_when_refused() -> None:
    formats: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        formats.append(body["response_format"]["type"])
        if body["response_format"]["type"] == "json_schema":
            return httpx.Response(
                400, json={"status": "error", "message": "json_schema unsupported"}
            )
        return httpx.Response(200, json=_completion('{"name": "Ada", "age": 36}'))

    structured = _mock_model(handler).with_structured_output(Person, method="json_schema")
    assert structured.invoke("who?") == Person(name="Ada", age=36)
    assert formats == ["json_schema", "json_object"]


def test_content_filter_is_a_refusal_through_the_model() -> None:
    from langchain_core.exceptions import ModelRefusalError

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_completion("", finish_reason="content_filter"))

    llm = _mock_model(handler)
    with pytest.raises(ModelRefusalError, match="content_filter") as info:
        llm.with_structured_output(Person).invoke("something refused")
    assert isinstance(info.value.raw_message, AIMessage)
    out = llm.with_structured_output(Person, method="json_mode", include_raw=True).invoke("x")
    assert isinstance(out["parsing_error"], ModelRefusalError) and out["parsed"] is None  # type: ignore[index]


def test_malformed_tool_arguments_become_invalid_tool_calls() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        reply = _completion("", finish_reason="tool_calls")
        reply["choices"][0]["message"]["tool_calls"] = [
            {"id": "abc123XYZ", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
        ]
        return httpx.Response(200, json=reply)

    msg = _mock_model(handler).invoke("call f")
    assert isinstance(msg, AIMessage)
    assert msg.tool_calls == []
    [bad] = msg.invalid_tool_calls
    assert (bad["name"], bad["args"], bad["id"]) == ("f", "{oops", "abc123XYZ")
