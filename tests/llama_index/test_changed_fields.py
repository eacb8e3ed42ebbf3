"""Connection settings changed after construction are used by the next request (issue 11).

Each test makes a first request (so a client is already built and cached), changes one field,
and checks over loopback that the next request, sync or async, uses the new value. Before
issue 11 a ModelsLabLLM froze its settings at construction and kept the old ones.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import APITimeoutError, ServerError

KEY = "test-key-changed-fields-0123"
MODES = ["sync", "async"]


def ask(llm: ModelsLabLLM, mode: str, text: str = "hi") -> str:
    messages = [ChatMessage(role=MessageRole.USER, content=text)]
    if mode == "sync":
        return llm.chat(messages).message.content or ""
    return asyncio.run(llm.achat(messages)).message.content or ""


def make(emulator: Emulator, scenario: str | None = None, **kwargs: Any) -> ModelsLabLLM:
    if scenario:  # a unique id: the emulator counts `times=` per exact header value
        kwargs["default_headers"] = {"X-Emulator-Scenario": f"{scenario};id={uuid.uuid4().hex}"}
    return ModelsLabLLM(api_key=KEY, base_url=emulator.base_url, **kwargs)


@pytest.mark.parametrize("mode", MODES)
def test_base_url(emulator: Emulator, mode: str) -> None:
    llm = make(emulator)
    assert ask(llm, mode, "first") == "You said: first"
    with Emulator() as other:
        llm.base_url = other.base_url
        assert ask(llm, mode, "second") == "You said: second"
        assert len(other.requests) == 1
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_temperature(emulator: Emulator, mode: str) -> None:
    llm = make(emulator, temperature=0.9)
    ask(llm, mode)
    assert emulator.requests[-1].body["temperature"] == 0.9
    llm.temperature = 0.1
    ask(llm, mode)
    assert emulator.requests[-1].body["temperature"] == 0.1


@pytest.mark.parametrize("mode", MODES)
def test_max_retries(emulator: Emulator, mode: str) -> None:
    llm = make(emulator, "server-error;times=1", max_retries=2)
    assert ask(llm, mode) == "You said: hi"  # the 500 was retried
    assert len(emulator.requests) == 2
    emulator.clear()  # the scenario fires once more
    llm.max_retries = 0
    with pytest.raises(ServerError):
        ask(llm, mode)
    assert len(emulator.requests) == 1
    emulator.clear()
    llm.max_retries = 1
    assert ask(llm, mode) == "You said: hi"
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_timeout(emulator: Emulator, mode: str) -> None:
    llm = make(emulator, "slow-first-byte;delay=1.5;times=1", max_retries=0)
    assert ask(llm, mode) == "You said: hi"  # slow, within the default timeout
    emulator.clear()
    llm.timeout = 0.3
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        ask(llm, mode)
    assert time.monotonic() - started < 1.2
    # The emulator still serves the abandoned request: let it finish, or it lands in the
    # request log of the next test.
    deadline = time.monotonic() + 5
    while any(emulator.in_flight.values()) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_bad_value_set_later_fails_typed_at_the_next_request(emulator: Emulator) -> None:
    # LlamaIndex does not validate assignment: the settings check at the request catches it.
    llm = make(emulator)
    llm.max_retries = -1
    with pytest.raises(ValueError, match="max_retries"):
        ask(llm, "sync")
    assert emulator.requests == []


def test_a_header_changed_in_place(emulator: Emulator) -> None:
    llm = make(emulator, default_headers={"X-Trace": "1"})
    ask(llm, "sync")
    assert llm.default_headers is not None
    llm.default_headers["X-Trace"] = "2"  # the same dict, changed: settings are rebuilt
    ask(llm, "sync")
    assert [r.headers["x-trace"] for r in emulator.requests] == ["1", "2"]
