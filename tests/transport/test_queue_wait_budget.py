"""A "queue full" 429 is resent only while `queue_wait_budget` lasts: then the typed error with
ModelsLab's message, in about the budget's time, after a bounded number of requests (sync,
async, streaming, and through both adapters). A client that never counted its waiting would
resend forever: every call here is bounded, so that shows as a failure, not a hang."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.exceptions import ModelRateLimitError
from llama_index.core.base.llms.types import ChatMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import AsyncModelsLabClient, ModelsLabClient, RateLimitError
from tests.support.emulator_log import chat_log
from tests.support.scenarios import scenario as scenario_value
from tests.support.transport_calls import payload, run_bounded

pytestmark = pytest.mark.timeout(60)

BUDGET = 1.0
HINT = 0.1  # the server's retry_after: about BUDGET / HINT resends fit in the budget
EARLIEST, LATEST = 0.8 * BUDGET, BUDGET + 3.0  # seconds until the error reaches the caller
MOST_REQUESTS = round(BUDGET / HINT) + 3  # a client that ignored its budget sends on and on
BOUND = 8.0  # a call still resending after twice LATEST never stops

# Both of ModelsLab's queue-full answers: the queue-limit refusal, and the 429 whose message
# names the plan's queue ("Rate limit exceeded. Maximum 5 queued requests allowed.").
SCENARIOS = {
    "queue-limit": ("queue-limit", {"max": 0, "retry_after": HINT}, "Maximum 0 queued"),
    "rate-limit": ("rate-limit", {"times": -1, "retry_after": HINT}, "Maximum 5 queued"),
}


def settings(emulator: Emulator, value: str, key: str) -> dict[str, Any]:
    return {
        "api_key": key,
        "base_url": emulator.base_url,
        "queue_wait_budget": BUDGET,
        "default_headers": {"X-Emulator-Scenario": value},
    }


def check(emulator: Emulator, value: str, outcome: object, elapsed: float, words: str) -> None:
    assert isinstance(outcome, RateLimitError), repr(outcome)
    assert outcome.queue_full and outcome.status_code == 429
    assert words in str(outcome)  # ModelsLab's own message
    assert EARLIEST <= elapsed <= LATEST, f"raised after {elapsed:.2f}s, budget {BUDGET}s"
    sent = len(chat_log(emulator, value))
    assert 2 <= sent <= MOST_REQUESTS, f"{sent} requests for a {BUDGET}s budget"


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("streaming", [False, True], ids=["chat", "stream"])
def test_sync_resends_stop_when_the_budget_is_spent(
    emulator: Emulator, name: str, streaming: bool
) -> None:
    scenario, params, words = SCENARIOS[name]
    value = scenario_value(scenario, **params)
    client = ModelsLabClient(**settings(emulator, value, "queue-budget-sync-key"))

    def call() -> object:
        if streaming:
            return list(client.stream_chat(payload("Hello")))
        return client.chat(payload("Hello"))

    try:
        outcome, elapsed = run_bounded(call, BOUND, client.close)
    finally:
        client.close()
    check(emulator, value, outcome, elapsed, words)


async def _timed(call: Any) -> tuple[object, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        outcome: object = await asyncio.wait_for(call, BOUND)
    except RateLimitError as exc:
        outcome = exc
    return outcome, loop.time() - started


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("streaming", [False, True], ids=["achat", "astream"])
async def test_async_resends_stop_when_the_budget_is_spent(
    emulator: Emulator, name: str, streaming: bool
) -> None:
    scenario, params, words = SCENARIOS[name]
    value = scenario_value(scenario, **params)
    async with AsyncModelsLabClient(**settings(emulator, value, "queue-budget-async-key")) as c:

        async def call() -> object:
            if streaming:
                return [event async for event in c.stream_chat(payload("Hello"))]
            return await c.chat(payload("Hello"))

        outcome, elapsed = await _timed(call())  # wait_for: a call past BOUND fails the test
    check(emulator, value, outcome, elapsed, words)


def test_langchain_invoke_stops_resending_when_the_budget_is_spent(emulator: Emulator) -> None:
    scenario, params, words = SCENARIOS["rate-limit"]
    value = scenario_value(scenario, **params)
    model = ChatModelsLab(**settings(emulator, value, "queue-budget-langchain-key"))
    try:
        outcome, elapsed = run_bounded(lambda: model.invoke("Hello"), BOUND, model.close)
    finally:
        model.close()
    assert isinstance(outcome, ModelRateLimitError)
    check(emulator, value, outcome, elapsed, words)


def test_llama_index_chat_stops_resending_when_the_budget_is_spent(emulator: Emulator) -> None:
    scenario, params, words = SCENARIOS["queue-limit"]
    value = scenario_value(scenario, **params)
    llm = ModelsLabLLM(**settings(emulator, value, "queue-budget-llama-key"))
    messages = [ChatMessage(role="user", content="Hello")]
    try:
        outcome, elapsed = run_bounded(lambda: llm.chat(messages), BOUND, llm._clients.close)
    finally:
        llm._clients.close()
    check(emulator, value, outcome, elapsed, words)
