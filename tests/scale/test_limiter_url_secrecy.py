"""A limiter URL's Redis password never shows in a model's repr or serialization.

LangChain's `dumps` writes a secret reference (MODELSLAB_LIMITER_URL) in its place, as it does for
the key, and `loads` restores it from `secrets_map` or the environment; pydantic dumps and
LlamaIndex's `to_dict`/`to_json` keep the URL with its password masked, and a model rebuilt from
that is refused (a typed error, before any connection) until it gets the real URL.
"""

from __future__ import annotations

import json
import warnings

import pytest
from langchain_core.load import dumps, loads
from pydantic import ValidationError

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import (
    InvalidInputError,
    limiter_url_has_password,
    masked_limiter_url,
)

PASSWORD = "hunter2-canary-5b1d"
KEY = "sk-canary-limiter-0123456789"
URLS = [
    f"redis://:{PASSWORD}@127.0.0.1:6379/0",
    f"rediss://worker:{PASSWORD}@redis.internal:6380/2?socket_timeout=3",
    f"redis://127.0.0.1:6379/0?password={PASSWORD}",
    f"unix://:{PASSWORD}@/run/redis/redis.sock?db=1",
    f"unix:///run/redis/redis.sock?db=1&password={PASSWORD}",
]


def _langchain_texts(model: ChatModelsLab) -> dict[str, str]:
    return {
        "repr": repr(model),
        "str": str(model),
        "dumps": dumps(model),
        "model_dump": str(model.model_dump()),
        "model_dump_json": model.model_dump_json(),
    }


def _llama_index_texts(llm: ModelsLabLLM) -> dict[str, str]:
    return {
        "repr": repr(llm),
        "str": str(llm),
        "to_dict": str(llm.to_dict()),
        "to_json": llm.to_json(),
        "model_dump_json": llm.model_dump_json(),
    }


@pytest.mark.parametrize("url", URLS)
def test_the_password_is_masked_and_the_rest_kept(url: str) -> None:
    assert limiter_url_has_password(url)
    masked = masked_limiter_url(url)
    assert masked is not None and PASSWORD not in masked and "**********" in masked
    assert masked.replace("**********", PASSWORD) == url


def test_a_url_without_a_password_is_kept_as_it_is() -> None:
    for url in ("redis://127.0.0.1:6379/0", "unix:///run/redis.sock?db=2", None):
        assert not limiter_url_has_password(url)
        assert masked_limiter_url(url) == url


def _assert_hidden(views: dict[str, str]) -> None:
    for view, text in views.items():
        assert PASSWORD not in text, view
        assert KEY not in text, view


@pytest.mark.parametrize("url", URLS)
def test_no_langchain_view_of_the_model_shows_the_password(url: str) -> None:
    model = ChatModelsLab(api_key=KEY, limiter_url=url)
    _assert_hidden(_langchain_texts(model))
    kwargs = json.loads(dumps(model))["kwargs"]
    assert kwargs["limiter_url"] == {"lc": 1, "type": "secret", "id": ["MODELSLAB_LIMITER_URL"]}


@pytest.mark.parametrize("url", URLS)
def test_no_llama_index_view_of_the_model_shows_the_password(url: str) -> None:
    llm = ModelsLabLLM(api_key=KEY, limiter_url=url)
    _assert_hidden(_llama_index_texts(llm))
    assert llm.to_dict()["limiter_url"] == masked_limiter_url(url)


def test_langchain_loads_restores_the_url_from_its_secret() -> None:
    url = URLS[1]
    text = dumps(ChatModelsLab(api_key=KEY, limiter_url=url))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `loads` is marked beta
        restored = loads(
            text,
            secrets_map={"MODELSLAB_API_KEY": KEY, "MODELSLAB_LIMITER_URL": url},
            valid_namespaces=["langchain_modelslab"],
            allowed_objects=[ChatModelsLab],
        )
    assert isinstance(restored, ChatModelsLab)
    assert restored.limiter_url == url


def test_a_url_without_a_password_round_trips_as_plain_text() -> None:
    url = "redis://127.0.0.1:6379/3"
    text = dumps(ChatModelsLab(api_key=KEY, limiter_url=url))
    assert json.loads(text)["kwargs"]["limiter_url"] == url
    assert ModelsLabLLM(api_key=KEY, limiter_url=url).to_dict()["limiter_url"] == url


def test_a_model_rebuilt_from_a_masked_url_is_refused_before_connecting() -> None:
    llm = ModelsLabLLM(api_key=KEY, limiter_url=URLS[0])
    with pytest.raises(InvalidInputError, match="masked when the model was serialized"):
        ModelsLabLLM.from_dict(llm.to_dict(), api_key=KEY)

    dumped = ChatModelsLab(api_key=KEY, limiter_url=URLS[2]).model_dump()
    dumped["api_key"] = KEY
    with pytest.raises(ValidationError, match="masked when the model was serialized"):
        ChatModelsLab(**dumped)
