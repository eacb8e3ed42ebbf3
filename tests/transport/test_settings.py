"""`ClientSettings` is the one carrier of connection settings: defaults written once, one
coercion from keywords, frozen and hashable, so `ClientCache` can key clients by it."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import pickle

import httpx
import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    ClientSettings,
    InvalidInputError,
    ModelsLabClient,
    Secret,
    Timeouts,
    default_of,
)
from modelslab_transport.adapters import ClientCache
from tests.support.transport_calls import payload

KEY = "sk-settings-canary-41d7"


def test_defaults_are_read_from_the_one_place() -> None:
    settings = ClientSettings(api_key=Secret(KEY))
    for field in dataclasses.fields(ClientSettings):
        if field.name != "api_key":
            assert getattr(settings, field.name) == default_of(field.name)
    assert default_of("max_retries") == 2 and default_of("timeout") == Timeouts()


def test_from_kwargs_coerces_once_and_none_means_the_default() -> None:
    settings = ClientSettings.from_kwargs(
        api_key=KEY,
        base_url="http://127.0.0.1:9/api/",
        timeout=30,
        max_retries=None,
        default_headers={"X-B": "2", "X-A": "1"},
    )
    assert settings.base_url == "http://127.0.0.1:9/api"
    assert settings.timeout == Timeouts(connect=5.0, read=30.0, write=30.0, pool=30.0)
    assert settings.max_retries == default_of("max_retries")
    assert settings.default_headers == (("X-A", "1"), ("X-B", "2"))
    assert (
        ClientSettings.from_kwargs(api_key=KEY, stream_idle_timeout=None).stream_idle_timeout
        is None
    )
    copied = ClientSettings.from_kwargs(api_key=KEY, timeout=httpx.Timeout(7.0, connect=2.0))
    assert copied.timeout == Timeouts(connect=2.0, read=7.0, write=7.0, pool=7.0)
    assert copied.timeout.httpx() == httpx.Timeout(7.0, connect=2.0)
    assert ClientSettings.from_kwargs(api_key=KEY, timeout=30) == settings.replace(
        base_url=default_of("base_url"), default_headers=()
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"max_retries": -1},
        {"max_concurrent_requests": 0},
        {"timeout": 0},
        {"first_byte_timeout": float("nan")},
        {"base_url": "http://example.com"},
        {"default_headers": {"Authorization": "Bearer x"}},
        {"colour": "blue"},
    ],
)
def test_bad_values_are_refused_typed_without_the_key(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError) as info:
        ClientSettings.from_kwargs(api_key=KEY, **bad)  # type: ignore[arg-type]
    assert KEY not in str(info.value)


def test_direct_construction_and_replace_are_checked_too() -> None:
    settings = ClientSettings(api_key=Secret(KEY))
    with pytest.raises(InvalidInputError):
        settings.replace(max_retries=-1)
    with pytest.raises(InvalidInputError):
        ClientSettings(api_key=Secret(KEY), base_url="ftp://host")


def test_settings_are_frozen_hashable_and_keep_the_key_out_of_repr() -> None:
    one = ClientSettings.from_kwargs(api_key=KEY, max_retries=3)
    two = ClientSettings.from_kwargs(api_key=KEY, max_retries=3, first_byte_timeout=600)
    assert one == two and hash(one) == hash(two) and len({one, two}) == 1
    assert one != one.replace(max_retries=4)
    assert one != ClientSettings.from_kwargs(api_key=KEY + "x", max_retries=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.max_retries = 5  # type: ignore[misc]
    assert KEY not in repr(one) and pickle.loads(pickle.dumps(one)) == one


def test_a_client_takes_settings_or_keywords_not_both(emulator: Emulator) -> None:
    settings = ClientSettings.from_kwargs(api_key=KEY, base_url=emulator.base_url)
    with ModelsLabClient(settings) as client:
        assert client.settings is settings
        assert client.chat(payload("Hi")).first.content == "You said: Hi"
    with pytest.raises(InvalidInputError, match="not both"):
        ModelsLabClient(settings, max_retries=1)
    assert ModelsLabClient(api_key=KEY, base_url=emulator.base_url).settings == settings


def test_client_cache_reuses_clients_per_settings_and_copies_start_empty(
    emulator: Emulator,
) -> None:
    cache = ClientCache()
    settings = ClientSettings.from_kwargs(api_key=KEY, base_url=emulator.base_url)
    client = cache.sync(settings)
    assert cache.sync(ClientSettings.from_kwargs(api_key=KEY, base_url=emulator.base_url)) is client
    assert cache.sync(settings.replace(max_retries=0)) is not client
    with httpx.Client() as http:
        assert cache.sync(settings, http) is not client
    # The limiter is not a setting: its URL and fallback tell clients apart too.
    process = cache.sync(settings, None, "process")
    assert process is not client and process.limiter.shared is None
    assert cache.sync(settings, None, "process") is process and cache.sync(settings) is client
    assert copy.deepcopy(cache).sync(settings) is not client
    assert pickle.loads(pickle.dumps(cache)).sync(settings) is not client
    assert client.chat(payload("Hi")).first.content == "You said: Hi"
    cache.close()
    assert client._http.is_closed  # closed by the cache that built it
    assert cache.sync(settings) is not client


def test_client_cache_serves_async_clients(emulator: Emulator) -> None:
    cache = ClientCache()
    settings = ClientSettings.from_kwargs(api_key=KEY, base_url=emulator.base_url)

    async def go() -> str:
        client = cache.async_(settings)
        assert isinstance(client, AsyncModelsLabClient) and cache.async_(settings) is client
        answer = (await client.chat(payload("Hi"))).first.content
        await cache.aclose()
        return answer

    assert asyncio.run(go()) == "You said: Hi"


def test_client_cache_keeps_at_most_16_clients_of_each_kind() -> None:
    cache = ClientCache()
    base = ClientSettings.from_kwargs(api_key=KEY, base_url="http://127.0.0.1:9")
    first = cache.sync(base.replace(max_retries=0))
    clients = [cache.sync(base.replace(max_retries=n)) for n in range(1, 17)]
    assert cache.sync(base.replace(max_retries=0)) is not first  # the oldest was evicted
    assert not first._http.is_closed  # evicted, not closed: a call may still use it
    assert cache.sync(base.replace(max_retries=16)) is clients[-1]
    first.close()
    cache.close()
