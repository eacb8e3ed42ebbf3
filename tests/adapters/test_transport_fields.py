"""The transport fields both adapters declare come from one definition
(`modelslab_transport.adapters.TransportFields`): same defaults, bounds and secrecy."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.load import dumpd

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import ClientSettings, default_of
from modelslab_transport.adapters import (
    SETTINGS_FIELDS,
    TransportFields,
    cached_settings,
    settings_from_fields,
)

KEY = "test-key-transport-fields-77c1"
REDIS_WITH_PASSWORD = "redis://:s3cret-pw@127.0.0.1:6379/0"


def _both(**kwargs: Any) -> tuple[ChatModelsLab, ModelsLabLLM]:
    return ChatModelsLab(api_key=KEY, **kwargs), ModelsLabLLM(api_key=KEY, **kwargs)


@pytest.mark.parametrize("name", sorted(TransportFields.model_fields))
def test_both_adapters_inherit_each_transport_field(name: str) -> None:
    shared = TransportFields.model_fields[name]
    for adapter in (ChatModelsLab, ModelsLabLLM):
        field = adapter.model_fields[name]
        assert (field.annotation, field.default, field.metadata, field.repr) == (
            shared.annotation,
            shared.default,
            shared.metadata,
            shared.repr,
        ), adapter.__name__
    chat_model, llm = _both()
    assert getattr(chat_model, name) == getattr(llm, name)


# Not client settings: the limiter's (passed to the client beside its settings) and the history's.
NOT_SETTINGS = {"reasoning_in_history", "limiter_url", "limiter_fallback"}


def test_the_defaults_are_the_client_settings_defaults() -> None:
    for name in set(TransportFields.model_fields) - NOT_SETTINGS:
        assert TransportFields.model_fields[name].default == default_of(name)
    limiter = TransportFields.model_fields
    assert (limiter["limiter_url"].default, limiter["limiter_fallback"].default) == (None, False)
    assert set(TransportFields.model_fields) - NOT_SETTINGS <= set(SETTINGS_FIELDS)
    assert "learn_queue_limit" not in SETTINGS_FIELDS
    assert set(SETTINGS_FIELDS) < set(ClientSettings.__dataclass_fields__)


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_retries", -1), ("max_concurrent_requests", 0), ("acquire_timeout", 0)],
)
def test_both_adapters_refuse_the_same_out_of_range_value(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        ChatModelsLab(api_key=KEY, **{name: value})
    with pytest.raises(ValueError, match=name):
        ModelsLabLLM(api_key=KEY, **{name: value})


def test_a_limiter_password_is_masked_in_both_dumps_and_a_langchain_secret() -> None:
    chat_model, llm = _both(limiter_url=REDIS_WITH_PASSWORD)
    for dumped in (chat_model.model_dump(), llm.model_dump(), llm.to_dict()):
        assert "s3cret-pw" not in str(dumped) and dumped["limiter_url"].startswith("redis://")
    assert chat_model.lc_secrets == {
        "api_key": "MODELSLAB_API_KEY",
        "limiter_url": "MODELSLAB_LIMITER_URL",
    }
    assert "s3cret-pw" not in str(dumpd(chat_model))
    plain, _ = _both()
    assert plain.lc_secrets == {"api_key": "MODELSLAB_API_KEY"}
    assert plain.secret_fields() == {}


def test_settings_from_fields_reads_same_named_attributes() -> None:
    class Model:
        api_key = KEY
        base_url = None
        max_retries = 7
        timeout = 12.0
        temperature = 0.3  # not a setting: ignored

    settings = settings_from_fields(Model(), max_concurrent_requests=None)
    assert (settings.max_retries, settings.timeout.read) == (7, 12.0)
    assert settings.max_concurrent_requests is None


def test_cached_settings_are_rebuilt_only_when_a_value_changed() -> None:
    class Model:
        api_key = KEY
        max_retries = 2
        default_headers: dict[str, str] = {"X-Team": "a"}

    model, holder = Model(), {"_memo": None}

    def values() -> tuple[Any, ...]:
        return (model.max_retries, model.default_headers)

    first = cached_settings(model, holder, values())
    assert cached_settings(model, holder, values()) is first  # nothing changed: the same
    model.default_headers["X-Team"] = "b"  # changed in place: the memo kept a copy
    second = cached_settings(model, holder, values())
    assert second is not first and dict(second.default_headers)["X-Team"] == "b"
    model.max_retries = 0
    assert cached_settings(model, holder, values()).max_retries == 0


@pytest.mark.parametrize("adapter", ["langchain", "llama_index"])
def test_a_changed_field_reaches_the_next_requests_settings(adapter: str) -> None:
    chat_model, llm = _both(max_retries=3, default_headers={"X-Team": "a"})
    model: Any = chat_model if adapter == "langchain" else llm
    first = model._settings()
    assert model._settings() is first
    model.max_retries = 0
    model.default_headers["X-Team"] = "b"
    now = model._settings()
    assert (now.max_retries, dict(now.default_headers)["X-Team"]) == (0, "b")
