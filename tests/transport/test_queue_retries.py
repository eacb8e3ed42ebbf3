"""Queue-aware retries over loopback: a 429 "queue full" was never run, so it is resent apart
from `max_retries` within `queue_wait_budget`, and an unset `max_concurrent_requests` learns the
plan's limit from ModelsLab's message (logged once, without the key)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import ModelsLabClient, RateLimitError, build_chat_payload
from modelslab_transport._settings import ClientSettings
from modelslab_transport.limits import slots_for_key

# A client that never spends its budget resends forever: a bound makes that a failure.
pytestmark = pytest.mark.timeout(30)

SLOW = {"X-Emulator-Scenario": "slow-first-byte;delay=0.3"}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(queue_limit=2, queue_retry_after=0.1) as emulator:
        yield emulator


def ask(client: ModelsLabClient, text: str) -> str:
    return client.chat(build_chat_payload("mistralai-Magistral-Small-2506", [
        {"role": "user", "content": text}
    ])).first.content  # fmt: skip


def test_queue_full_is_resent_past_max_retries_and_the_plan_limit_learned(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    key = "queue-retries-learn-key"
    caplog.set_level(logging.INFO, logger="modelslab_transport")
    with ModelsLabClient(api_key=key, base_url=emulator.base_url, max_retries=0,
                         default_headers=SLOW) as client:  # fmt: skip
        assert client.settings.learn_queue_limit
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda i: ask(client, f"q{i}"), range(6)))
        assert answers == [f"You said: q{i}" for i in range(6)]
        assert slots_for_key(key).learned == 2
        refused_first = sum(emulator.rate_limited.values())
        with ThreadPoolExecutor(6) as pool:  # now held at 2 in this process: no refusal
            list(pool.map(lambda i: ask(client, f"r{i}"), range(6)))
    assert refused_first > 0
    assert sum(emulator.rate_limited.values()) == refused_first
    learned = [r for r in caplog.records if "queues at most 2" in r.getMessage()]
    assert len(learned) == 1 and key not in caplog.text


def test_an_explicit_limit_is_not_lowered(emulator: Emulator) -> None:
    settings = ClientSettings.from_kwargs(api_key="k", max_concurrent_requests=5)
    assert not settings.learn_queue_limit
    assert ClientSettings.from_kwargs(api_key="k").learn_queue_limit


def test_queue_full_past_the_budget_raises_typed(emulator: Emulator) -> None:
    headers = {"X-Emulator-Scenario": "queue-limit;max=0;retry_after=0.05"}
    with ModelsLabClient(api_key="queue-retries-budget-key", base_url=emulator.base_url,
                         default_headers=headers, queue_wait_budget=0.12) as client:  # fmt: skip
        with pytest.raises(RateLimitError) as info:
            ask(client, "never")
    assert info.value.queue_full
    assert len(emulator.requests) == 3  # sent, then twice after 0.05 s: 0.15 would pass 0.12
