"""The client takes its limiter: one passed as `limiter=` is the one held around every attempt
and the one that learns the plan's queue limit; the retry policy only returns that limit in its
decision (it writes no limiter state); `limiter_for` gives the kind `limiter_url` names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
    RateLimitError,
    build_chat_payload,
)
from modelslab_transport._retry import Retries
from modelslab_transport.limits import KeySlots, Limiter, limiter_for, slots_for_key
from modelslab_transport.limits._machine import MachineSlots
from modelslab_transport.limits.redis import RedisSlots

pytestmark = pytest.mark.timeout(30)

SLOW = {"X-Emulator-Scenario": "slow-first-byte;delay=0.3"}
FULL = "Rate limit exceeded. Maximum 2 queued requests allowed."


class RecordingLimiter:
    """A limiter of the caller's own: in-process slots that record what the client asks."""

    def __init__(self) -> None:
        self.slots = KeySlots()
        self.holds: list[int | None] = []
        self.taught: list[int] = []

    def hold(self, limit: int | None) -> AbstractContextManager[None]:
        self.holds.append(limit)
        return self.slots.hold(limit)

    def hold_async(self, limit: int | None) -> AbstractAsyncContextManager[None]:
        self.holds.append(limit)
        return self.slots.hold_async(limit)

    def learn(self, limit: int) -> bool:
        self.taught.append(limit)
        return self.slots.learn(limit)

    @property
    def learned(self) -> int | None:
        return self.slots.learned


@pytest.fixture
def queue_of_one() -> Iterator[Emulator]:
    with Emulator(queue_limit=1, queue_retry_after=0.05) as emulator:
        yield emulator


def payload(text: str) -> dict[str, object]:
    return build_chat_payload("mistralai-Magistral-Small-2506", [{"role": "user", "content": text}])


def test_a_limiter_passed_in_is_held_and_learns_the_plan_limit(queue_of_one: Emulator) -> None:
    key = "limiter-protocol-sync-key"
    limiter = RecordingLimiter()
    assert isinstance(limiter, Limiter)
    with ModelsLabClient(
        api_key=key, base_url=queue_of_one.base_url, default_headers=SLOW, limiter=limiter
    ) as client:
        assert client.limiter is limiter
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda i: client.chat(payload(f"q{i}")).first.content, "abc"))
    assert answers == ["You said: qa", "You said: qb", "You said: qc"]
    assert limiter.taught and set(limiter.taught) == {1} and limiter.learned == 1
    default = client.settings.max_concurrent_requests
    assert limiter.holds[0] == default != 1 and limiter.holds[-1] == 1  # the learned limit
    assert len(limiter.holds) == len(queue_of_one.requests)  # one hold per attempt
    assert slots_for_key(key).learned is None  # nothing written behind the limiter's back


def test_an_async_client_holds_the_limiter_passed_in(queue_of_one: Emulator) -> None:
    limiter = RecordingLimiter()

    async def main() -> list[str]:
        async with AsyncModelsLabClient(
            api_key="limiter-protocol-async-key",
            base_url=queue_of_one.base_url,
            default_headers=SLOW,
            limiter=limiter,
        ) as client:
            done = await asyncio.gather(*(client.chat(payload(t)) for t in "ab"))
            return [c.first.content for c in done]

    assert asyncio.run(main()) == ["You said: a", "You said: b"]
    assert limiter.taught == [1] and limiter.holds[-1] == 1
    assert len(limiter.holds) == len(queue_of_one.requests)


def test_the_retry_policy_returns_what_it_learned_and_writes_nothing() -> None:
    key = "limiter-protocol-policy-key"
    learning = Retries(ClientSettings.from_kwargs(api_key=key, queue_wait_budget=5))
    decision = learning.decide(RateLimitError(FULL, status_code=429, retry_after=0.1))
    assert decision == (0.1, 2) and decision.learned_limit == 2
    assert slots_for_key(key).learned is None
    explicit = Retries(ClientSettings.from_kwargs(api_key=key, max_concurrent_requests=4))
    assert explicit.decide(RateLimitError(FULL, status_code=429)).learned_limit is None
    plain = Retries(ClientSettings.from_kwargs(api_key=key))
    assert plain.decide(RateLimitError("slow down", status_code=429)).learned_limit is None


def test_limiter_for_gives_the_kind_the_url_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    key, base = "limiter-protocol-kinds-key", "http://127.0.0.1:9/v7/llm"
    process = limiter_for("process", key, base_url=base)
    assert process.shared is None and process.local is slots_for_key(key)
    assert isinstance(limiter_for(None, key, base_url=base).shared, MachineSlots)
    assert isinstance(limiter_for("machine", key, base_url=base).shared, MachineSlots)
    shared = limiter_for("redis://127.0.0.1:1/0", key, base_url=base, fallback=True)
    assert isinstance(shared.shared, RedisSlots)
    for limiter in (process, shared):
        assert isinstance(limiter, Limiter)
    process.learn(3)  # what any kind learns is the key's, in this process
    assert shared.learned == 3 and slots_for_key(key).learned == 3
