"""Construction, configuration, serialisation, packaging and concurrency of ChatModelsLab."""

from __future__ import annotations

import asyncio
import copy
import pickle
import subprocess
import sys
import textwrap
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load, loads
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import SecretStr

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator

KEY = "test-key-construction-0123"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"top_p": 1.5}, "top_p"),
        ({"temprature": 0.5}, "did you mean 'temperature'"),
        ({"model_kwargs": {"temperature": 0.5}}, "use the parameter itself"),
        ({"model_kwargs": {"key": "x"}}, "model_kwargs must not set key"),
        ({"streaming": True, "n": 2}, "n > 1"),
        ({"default_headers": {"Authorization": "Bearer x"}}, "credentials"),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests"),
    ],
)
def test_invalid_values_are_refused_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChatModelsLab(api_key=KEY, **kwargs)


def test_aliases_and_defaults() -> None:
    llm = ChatModelsLab(
        model_name="openai-gpt-oss-20b", api_key=KEY, stop_sequences="END", request_timeout=3
    )
    assert llm.model == "openai-gpt-oss-20b"
    assert llm.stop == ["END"]
    assert llm.timeout == 3
    default = ChatModelsLab(api_key=KEY)
    assert default.model == "mistralai-Magistral-Small-2506"
    assert default._default_params == {"temperature": 0.7, "top_p": 0.95}
    assert ChatModelsLab(api_key=KEY, temperature=0.1)._default_params["temperature"] == 0.1


def test_environment_is_read_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "env-key-123")
    monkeypatch.setenv("MODELSLAB_BASE_URL", "https://proxy.example/api/v7/llm")
    llm = ChatModelsLab()
    assert isinstance(llm.api_key, SecretStr)
    assert llm.api_key.get_secret_value() == "env-key-123"
    assert llm.base_url == "https://proxy.example/api/v7/llm"
    assert "env-key-123" not in repr(llm)


@pytest.mark.filterwarnings("ignore:The function `load")
def test_dumps_loads_round_trip_without_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = ChatModelsLab(api_key=KEY, temperature=0.3, max_tokens=64, stop=["x"])
    text = dumps(llm)
    assert KEY not in text and "MODELSLAB_API_KEY" in text
    assert dumpd(llm)["id"] == ["langchain_modelslab", "chat_models", "ChatModelsLab"]
    monkeypatch.setenv("MODELSLAB_API_KEY", "key-from-env")
    restored = loads(
        text,
        allowed_objects=[ChatModelsLab],
        valid_namespaces=["langchain_modelslab"],
        secrets_from_env=True,
    )
    assert isinstance(restored, ChatModelsLab)
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == "key-from-env"
    assert restored._identifying_params == llm._identifying_params
    explicit = load(
        dumpd(llm),
        allowed_objects=[ChatModelsLab],
        valid_namespaces=["langchain_modelslab"],
        secrets_map={"MODELSLAB_API_KEY": KEY},
    )
    assert explicit.api_key.get_secret_value() == KEY


def test_copies_and_pickles_never_share_broken_clients(base_url: str) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=base_url)
    llm.invoke("warm up")
    clone = copy.deepcopy(llm)
    assert clone.invoke("copied").text == "You said: copied"
    revived = pickle.loads(pickle.dumps(llm))
    assert revived.invoke("pickled").text == "You said: pickled"


def test_clients_are_reused_and_follow_setting_changes(base_url: str, emulator: Emulator) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=base_url)
    assert llm._sync_client() is llm._sync_client()
    moved = llm.model_copy(update={"base_url": "http://127.0.0.1:9/api/v7/llm"})
    assert moved._sync_client() is not llm._sync_client()
    assert llm.invoke("still here").text == "You said: still here"


def test_injected_http_clients_are_used(base_url: str) -> None:
    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    with httpx.Client(event_hooks={"request": [hook]}) as http:
        llm = ChatModelsLab(api_key=KEY, base_url=base_url, http_client=http)
        llm.invoke("custom client")
    assert seen == ["/api/v7/llm/chat/completions"]
    assert "http_client" not in dumpd(llm)["kwargs"]


async def test_injected_async_http_client(base_url: str) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
        llm = ChatModelsLab(api_key=KEY, base_url=base_url, http_async_client=http)
        await llm.ainvoke("custom async client")
    assert seen == ["/api/v7/llm/chat/completions"]


async def test_max_concurrent_requests_caps_in_flight(base_url: str, emulator: Emulator) -> None:
    key = "test-key-concurrency-cap"
    llm = ChatModelsLab(
        api_key=key,
        base_url=base_url,
        max_concurrent_requests=2,
        default_headers={"X-Emulator-Scenario": "slow-first-byte;delay=0.15"},
    )
    answers = await llm.abatch([f"q{i}" for i in range(6)])
    assert [a.text for a in answers] == [f"You said: q{i}" for i in range(6)]
    assert emulator.max_in_flight[Emulator.fingerprint(key)] == 2


def test_reasoning_in_history_opt_in(base_url: str, emulator: Emulator) -> None:
    history = [
        HumanMessage("first"),
        AIMessage("answer", additional_kwargs={"reasoning_content": "hidden plan"}),
        HumanMessage("second"),
    ]
    ChatModelsLab(api_key=KEY, base_url=base_url).invoke(history)
    assert "hidden plan" not in str(emulator.requests[-1].body["messages"])
    ChatModelsLab(api_key=KEY, base_url=base_url, reasoning_in_history=True).invoke(history)
    assert "<think>\nhidden plan\n</think>" in emulator.requests[-1].body["messages"][1]["content"]


def test_streaming_flag_streams_under_invoke(base_url: str, emulator: Emulator) -> None:
    msg = ChatModelsLab(api_key=KEY, base_url=base_url, streaming=True).invoke("flag")
    assert msg.text == "You said: flag"
    assert emulator.requests[-1].body["stream"] is True
    assert msg.usage_metadata is not None


def test_no_warnings_on_construction() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ChatModelsLab(api_key=KEY)


def test_import_without_langchain_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["langchain_core"] = None  # as if langchain-core were not installed
        try:
            import langchain_modelslab
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "modelslab-integrations[langchain]"' in out.stdout


def test_one_model_serves_several_event_loops(base_url: str) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=base_url)
    for i in range(3):  # each asyncio.run is a new loop; no "Event loop is closed"
        assert asyncio.run(llm.ainvoke(f"loop {i}")).text == f"You said: loop {i}"


async def test_close_and_aclose_release_pools_and_calls_still_work(base_url: str) -> None:
    llm = ChatModelsLab(api_key="sk-close-test", base_url=base_url)
    assert llm.invoke("one").content == "You said: one"
    assert (await llm.ainvoke("two")).content == "You said: two"
    sync_client = llm._sync_client()
    await llm.aclose()
    assert sync_client._http.is_closed
    assert llm.invoke("three").content == "You said: three"  # a fresh pool
    llm.close()
