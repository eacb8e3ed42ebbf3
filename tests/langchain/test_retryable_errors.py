"""A raised error's `is_retryable` is the transport's retry verdict, so `ModelRetryMiddleware`
(and any `retry_if` that reads it) retries exactly what the transport would."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ModelRetryMiddleware
from langchain.agents.middleware._retry import default_retry_on
from langchain_core.exceptions import ModelError

import modelslab_transport as mt
from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator
from modelslab_transport import ClientSettings
from modelslab_transport._errors import retryable_status
from modelslab_transport._retry import retry_delay
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel

KEY = "sk-lc-retryable-5e21"
MODEL = "meta-llama-llama-3.1-8b-instruct"
STATUSES = [400, 401, 402, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]


chat_model_defaults = file_defaults(api_key=KEY, model=MODEL)


def _raise(mode: str, llm: ChatModelsLab) -> ModelError:
    with pytest.raises(ModelError) as info:
        if mode == "invoke":
            llm.invoke("hi")
        elif mode == "stream":
            list(llm.stream("hi"))
        else:
            asyncio.run(llm.ainvoke("hi"))
    return info.value


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke"])
@pytest.mark.parametrize("status", STATUSES)
def test_is_retryable_agrees_with_the_retry_policy(
    mode: str, status: int, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model(f"http-error;status={status};times=-1", max_retries=0)
    error = _raise(mode, llm)
    assert isinstance(error, mt.ModelsLabError) and error.status_code == status
    assert error.is_retryable is retryable_status(status)
    assert default_retry_on(error) is error.is_retryable  # ModelRetryMiddleware's default


@pytest.mark.parametrize("status", [408, 409])
def test_408_and_409_are_retryable(
    status: int, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    error = _raise(
        "invoke",
        make_chat_model(f"http-error;status={status}", max_retries=0),
    )
    assert error.is_retryable is True


def test_server_should_retry_header_decides(
    emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model("server-error;status=503;should_retry=false", max_retries=0)
    assert _raise("invoke", llm).is_retryable is False


@pytest.mark.parametrize(("status", "answered"), [(409, True), (400, False)])
def test_model_retry_middleware_retries_what_the_policy_retries(
    status: int, answered: bool, emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model(f"http-error;status={status};times=1", max_retries=0)
    agent = create_agent(
        llm, tools=[], middleware=[ModelRetryMiddleware(max_retries=1, initial_delay=0.0)]
    )
    wanted = (llm.default_headers or {})["X-Emulator-Scenario"]
    if answered:
        result = agent.invoke({"messages": [("user", "one two")]})
        assert "one two" in str(result["messages"][-1].content)
    else:
        with pytest.raises(ModelError):
            agent.invoke({"messages": [("user", "one two")]})
    sent = [r.status for r in emulator.requests if r.scenario == wanted]
    assert sent == ([status, 200] if answered else [status])


def _policy_retries(error: Exception) -> bool:
    """Whether the transport's retry policy would send again (first attempt, no wait cap)."""
    assert isinstance(error, mt.ModelsLabError)
    settings = ClientSettings.from_kwargs(api_key=KEY, max_retries=1, max_retry_wait=3600)
    return retry_delay(error, 0, settings) is not None


@pytest.mark.parametrize(
    ("scenario", "kwargs", "expected"),
    [
        ("http-error;status=408;times=-1", {}, True),
        ("http-error;status=409;times=-1", {}, True),
        # A queue-full 429 is resent within queue_wait_budget whatever max_retries says.
        ("rate-limit;retry_after=1;times=-1", {"queue_wait_budget": 0}, True),
        ("server-error;status=502;times=-1", {}, True),
        ("http-error;status=422;times=-1", {}, False),
        ("forbidden", {}, False),
        # Sent and maybe running (billed): a read timeout is not sent again.
        ("slow-first-byte;delay=1", {"timeout": 0.3}, False),
    ],
)
def test_raised_errors_agree_with_retry_delay(
    scenario: str,
    kwargs: dict[str, Any],
    expected: bool,
    emulator: Emulator,
    make_chat_model: MakeChatModel,
) -> None:
    error = _raise("invoke", make_chat_model(scenario, max_retries=0, **kwargs))
    assert error.is_retryable is _policy_retries(error) is expected


def test_refused_connection_is_retryable() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = ChatModelsLab(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)
    error = _raise("invoke", llm)
    assert error.is_retryable is _policy_retries(error) is True
