"""The API key never shows: not in repr, serialisation, callbacks, instrumentation or errors."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.callbacks import CallbackManager, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import SecretStr

from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import ModelsLabError
from tests.support.models import MakeLLM

SECRET = "sk-very-secret-0123456789abcdef"
USER = [ChatMessage(role=MessageRole.USER, content="Hello")]


class _Collector(BaseEventHandler):
    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "_Collector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


def _text_of(value: Any) -> str:
    parts = [repr(value), str(value)]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        parts.append(str(dump()))
    return " ".join(parts)


@pytest.mark.parametrize("key", [SECRET, SecretStr(SECRET)])
def test_key_not_in_repr_or_serialisation(make_llm: MakeLLM, key: object) -> None:
    llm = make_llm(api_key=key)
    for text in (repr(llm), str(llm), llm.to_json(), str(llm.to_dict()), str(llm.to_payload())):
        assert SECRET not in text
    assert SECRET not in str(llm.model_dump())
    assert SECRET not in llm.model_dump_json()
    assert "api_key" not in llm.to_dict()
    assert SECRET not in repr(llm._get_client())
    assert SECRET not in repr(llm._get_aclient())


def test_serialised_llm_round_trips_without_the_key(
    make_llm: MakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = make_llm(api_key=SECRET, temperature=0.3)
    monkeypatch.setenv("MODELSLAB_API_KEY", "another-key")
    clone = ModelsLabLLM.from_json(llm.to_json())
    assert (clone.model, clone.temperature, clone.base_url) == (llm.model, 0.3, llm.base_url)
    assert clone._api_key.get_secret_value() == "another-key"


def test_pickled_llm_keeps_the_key_hidden_and_works(make_llm: MakeLLM) -> None:
    llm = make_llm(api_key=SECRET)
    llm.complete("warm up")  # clients exist now
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.complete("after pickle").text == "You said: after pickle"
    assert clone._api_key.get_secret_value() == SECRET  # the pickled key, not the environment's
    assert SECRET not in repr(clone)
    assert llm.complete("original still works").text == "You said: original still works"
    copied = copy.deepcopy(llm)
    assert copied.complete("deep copy").text == "You said: deep copy"
    assert copied._get_client() is not llm._get_client()


async def test_key_not_in_callbacks_or_instrumentation(make_llm: MakeLLM) -> None:
    debug = LlamaDebugHandler()
    llm = make_llm(api_key=SECRET, callback_manager=CallbackManager([debug]))
    collector = _Collector()
    collector.events = []
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(collector)
    try:
        llm.chat(USER)
        list(llm.stream_chat(USER))
        llm.complete("Hello")
        await llm.achat(USER)
        [r async for r in await llm.astream_complete("Hello")]
        with pytest.raises(ModelsLabError):
            make_llm(api_key=SECRET, model="no-such-model").chat(USER)
    finally:
        dispatcher.event_handlers.remove(collector)
    assert collector.events
    assert any(type(e).__name__ == "LLMChatStartEvent" for e in collector.events)
    for event in collector.events:
        assert SECRET not in _text_of(event)
    pairs = debug.get_llm_inputs_outputs()
    assert pairs
    for start, end in pairs:
        assert SECRET not in str(start.payload)
        assert SECRET not in str(end.payload)


def test_key_not_in_errors(make_llm: MakeLLM) -> None:
    for scenario, model in [
        (None, "no-such-model"),
        ("error-200", None),
        ("insufficient-credits", None),
        ("html-502;times=9", None),
    ]:
        kwargs: dict[str, Any] = {"api_key": SECRET, "max_retries": 0, "scenario": scenario}
        if model:
            kwargs["model"] = model
        with pytest.raises(ModelsLabError) as info:
            make_llm(**kwargs).chat(USER)
        error = info.value
        assert error.status_code is not None
        for text in (str(error), repr(error), str(error.body), str(error.__dict__)):
            assert SECRET not in text
