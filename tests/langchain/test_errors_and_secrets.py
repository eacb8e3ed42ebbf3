"""Every transport failure as a dual-inheritance error; the API key never leaks anywhere."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.load import dumpd, dumps

import modelslab_transport as mt
from langchain_modelslab import (
    ChatModelsLab,
    ModelsLabAPITimeoutError,
    ModelsLabAuthenticationError,
    ModelsLabContextOverflowError,
    ModelsLabMissingAPIKeyError,
    ModelsLabRateLimitError,
)
from modelslab_emulator import Emulator
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel

SECRET = "sk-live-SECRET-4b1d-never-show-me"


chat_model_defaults = file_defaults(api_key=SECRET)


def assert_no_secret(error: BaseException) -> None:
    text = " ".join([str(error), repr(error), repr(error.args), repr(vars(error))])
    assert SECRET not in text


@pytest.fixture(scope="module")
def locked_emulator() -> Iterator[Emulator]:
    """An emulator that accepts one key only, for 401s."""
    with Emulator(api_keys=["the-only-good-key"]) as emu:
        yield emu


# -- status errors -----------------------------------------------------------------------------


def test_invalid_key_is_authentication_error(
    locked_emulator: Emulator, make_chat_model: MakeChatModel
) -> None:
    llm = make_chat_model(base_url=locked_emulator.base_url)
    for call in (lambda: llm.invoke("hi"), lambda: list(llm.stream("hi"))):
        with pytest.raises(ModelsLabAuthenticationError) as info:
            call()
        err = info.value
        assert isinstance(err, ModelAuthenticationError) and isinstance(err, mt.AuthenticationError)
        assert err.status_code == 401 and not err.is_retryable
        assert_no_secret(err)


async def test_invalid_key_async(locked_emulator: Emulator, make_chat_model: MakeChatModel) -> None:
    with pytest.raises(ModelAuthenticationError) as info:
        await make_chat_model(base_url=locked_emulator.base_url).ainvoke("hi")
    assert_no_secret(info.value)


def test_missing_key_names_the_variable(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    llm = ChatModelsLab(base_url=base_url)
    with pytest.raises(ModelsLabMissingAPIKeyError, match="MODELSLAB_API_KEY") as info:
        llm.invoke("hi")
    assert isinstance(info.value, ModelAuthenticationError)
    assert isinstance(info.value, mt.MissingAPIKeyError)


@pytest.mark.parametrize(
    ("scenario", "model", "transport_cls", "langchain_cls", "status"),
    [
        (None, "no-such-model", mt.NotFoundError, ModelNotFoundError, 404),
        (
            "insufficient-credits",
            None,
            mt.InsufficientCreditsError,
            ModelPermissionDeniedError,
            402,
        ),
        ("forbidden", None, mt.PermissionDeniedError, ModelPermissionDeniedError, 403),
        ("server-error;times=5", None, mt.ServerError, ModelAPIError, 500),
        ("error-200", None, mt.ServerError, ModelAPIError, None),
    ],
)
def test_status_errors_map_to_both_hierarchies(
    make_chat_model: MakeChatModel,
    scenario: str | None,
    model: str | None,
    transport_cls: type[Exception],
    langchain_cls: type[Exception],
    status: int | None,
) -> None:
    extra = {"model": model} if model else {}
    llm = make_chat_model(scenario, max_retries=0, **extra)
    for call in (lambda: llm.invoke("hi"), lambda: list(llm.stream("hi"))):
        with pytest.raises(transport_cls) as info:
            call()
        err = info.value
        assert isinstance(err, langchain_cls)
        if status is not None:  # an error event inside a 200 stream has no status of its own
            assert err.status_code == status  # type: ignore[attr-defined]
        # The transport decides retryability (not langchain-core's ModelError): same attribute.
        assert type(err).is_retryable is transport_cls.is_retryable  # type: ignore[attr-defined]
        assert isinstance(err.is_retryable, bool)  # type: ignore[attr-defined]
        assert_no_secret(err)


def test_rate_limit_retried_then_success_or_typed_error(
    make_chat_model: MakeChatModel, emulator: Emulator
) -> None:
    ok = make_chat_model("rate-limit;times=2;retry_after=0.05;id=lc-ok", max_retries=2)
    assert ok.invoke("hello again").text == "You said: hello again"
    assert [r.status for r in emulator.requests] == [429, 429, 200]
    failing = make_chat_model(
        "rate-limit;times=9;retry_after=0.05;id=lc-fail", max_retries=0, queue_wait_budget=0
    )
    with pytest.raises(ModelsLabRateLimitError) as info:
        failing.invoke("hi")
    err = info.value
    assert isinstance(err, ModelRateLimitError) and err.is_retryable
    assert err.retry_after == pytest.approx(0.05)
    assert_no_secret(err)


async def test_server_error_retried_async(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model("server-error;times=1;id=lc-async", max_retries=1)
    assert (await llm.ainvoke("once more")).text == "You said: once more"
    chunks = [c async for c in make_chat_model("server-error;times=1;id=lc-astream").astream("s")]
    assert "".join(str(c.content) for c in chunks) == "You said: s"


def test_context_overflow(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model(max_retries=0)
    with pytest.raises(ModelsLabContextOverflowError) as info:
        llm.invoke("word " * 41_000)
    err = info.value
    assert isinstance(err, ContextOverflowError)
    assert isinstance(err, ModelInvalidRequestError)
    assert isinstance(err, mt.ContextLengthExceededError)
    assert not err.is_retryable


@pytest.mark.parametrize("scenario", ["html-502;times=5", "redirect"])
def test_non_api_replies_are_readable_errors(make_chat_model: MakeChatModel, scenario: str) -> None:
    with pytest.raises(mt.ModelsLabError) as info:
        make_chat_model(scenario, max_retries=0).invoke("hi")
    assert isinstance(info.value, ModelAPIError)
    assert "<html" not in str(info.value).lower()
    assert_no_secret(info.value)


@pytest.mark.parametrize("scenario", ["error-mid-stream", "drop-mid-stream", "truncated"])
def test_broken_streams_raise_never_pass_as_complete(
    make_chat_model: MakeChatModel, scenario: str
) -> None:
    llm = make_chat_model(scenario, max_retries=0)
    with pytest.raises(mt.ModelsLabError) as info:
        list(llm.stream("please stream this whole answer"))
    err = info.value
    assert isinstance(err, (ModelAPIError, ModelConnectionError))
    assert_no_secret(err)


def test_stream_without_done_but_finished_is_complete(make_chat_model: MakeChatModel) -> None:
    chunks = list(make_chat_model("no-done", max_retries=0).stream("finish reason arrived"))
    assert "".join(str(c.content) for c in chunks) == "You said: finish reason arrived"
    assert chunks[-1].response_metadata["finish_reason"] == "stop"


def test_timeouts(make_chat_model: MakeChatModel) -> None:
    slow = make_chat_model("slow-first-byte;delay=1", timeout=0.2, max_retries=0)
    with pytest.raises(ModelsLabAPITimeoutError) as info:
        slow.invoke("hi")
    assert isinstance(info.value, ModelTimeoutError) and isinstance(
        info.value, ModelConnectionError
    )
    trickle = make_chat_model("trickle;delay=0.6", stream_idle_timeout=0.2, max_retries=0)
    with pytest.raises(ModelTimeoutError):
        list(trickle.stream("one two three"))


def test_errors_pickle_and_keep_their_class(make_chat_model: MakeChatModel) -> None:
    with pytest.raises(ModelsLabRateLimitError) as info:
        make_chat_model(
            "rate-limit;times=9;retry_after=0.05;id=lc-p", max_retries=0, queue_wait_budget=0
        ).invoke("x")
    clone = pickle.loads(pickle.dumps(info.value))
    assert type(clone) is ModelsLabRateLimitError and str(clone) == str(info.value)


def test_with_retry_uses_is_retryable(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model("server-error;times=1;id=lc-with-retry", max_retries=0)
    retrying = llm.with_retry(retry_if_exception_type=(ModelAPIError,), stop_after_attempt=2)
    assert retrying.invoke("retry me").text == "You said: retry me"


# -- the key never leaks -----------------------------------------------------------------------


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.seen.append(repr((serialized, messages, kwargs)))

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.seen.append(repr((token, kwargs)))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append(repr((response, kwargs)))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(repr((error, vars(error), kwargs)))


def test_key_never_in_repr_dumps_params_or_callbacks(make_chat_model: MakeChatModel) -> None:
    llm = make_chat_model()
    for text in (repr(llm), str(llm), dumps(llm), repr(dumpd(llm)), repr(llm.model_dump())):
        assert SECRET not in text
    assert SECRET not in repr(llm._get_invocation_params())
    assert SECRET not in repr(llm._identifying_params)
    assert SECRET not in repr(llm._get_ls_params())
    recorder = _Recorder()
    llm.invoke("hi", config={"callbacks": [recorder]})
    list(llm.stream("hi", config={"callbacks": [recorder]}))
    llm.bind_tools([{"type": "function", "function": {"name": "f", "parameters": {}}}]).invoke(
        "call f", config={"callbacks": [recorder]}
    )
    with pytest.raises(mt.ModelsLabError):
        make_chat_model("forbidden").invoke("hi", config={"callbacks": [recorder]})
    assert len(recorder.seen) > 5
    assert all(SECRET not in entry for entry in recorder.seen)


async def test_key_never_in_astream_events(make_chat_model: MakeChatModel) -> None:
    events = [e async for e in make_chat_model().astream_events("hi", version="v2")]
    assert events and SECRET not in repr(events)


def test_construction_errors_do_not_echo_input() -> None:
    with pytest.raises(ValueError, match="temperature") as info:
        ChatModelsLab(api_key=SECRET, temperature=5)
    assert SECRET not in str(info.value)
    with pytest.raises(ValueError, match="did you mean 'api_key'") as info:
        ChatModelsLab(apikey=SECRET)  # type: ignore[call-arg]
    assert SECRET not in str(info.value)
    with pytest.raises(ValueError, match="plain http") as info:
        ChatModelsLab(api_key=SECRET, base_url="http://example.com/api")
    assert SECRET not in str(info.value)
