"""Four OS processes (two ChatModelsLab, two ModelsLabLLM) x 10 prompts on one key against one
emulator that queues at most 5 requests per key, as ModelsLab's smallest plan does.

With default settings (the machine-local limiter) and with `limiter_url` (a real redis-server)
the processes hold 5 in flight together: every answer, the server's peak in flight for the key
at most 5, no 429. With `limiter_url="process"` each process holds 5 of its own, so the server
refuses some, and queue-aware retries still bring every answer."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from modelslab_emulator import Emulator
from tests.support.adapter_processes import go, result, start_worker, stats
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

LIMIT, PROCESSES, PROMPTS = 5, 4, 10
DELAY = 0.3  # each request runs this long on the server, so the batches overlap


@pytest.fixture
def queue_emulator() -> Iterator[Emulator]:
    with Emulator(queue_limit=LIMIT, queue_retry_after=0.2) as emulator:
        yield emulator


def run_batch(emulator: Emulator, key: str, limiter_url: str | None) -> dict[str, object]:
    adapters = ["langchain", "llama_index"] * (PROCESSES // 2)
    procs = [
        start_worker(
            adapter=adapter,
            base_url=emulator.base_url,
            key=key,
            limiter_url=limiter_url,
            limit=LIMIT,
            n=PROMPTS,
            tag=f"p{n}",
            headers={"X-Emulator-Scenario": f"slow-first-byte;delay={DELAY}"},
        )
        for n, adapter in enumerate(adapters)
    ]
    started = time.monotonic()
    for proc in procs:
        go(proc)
    outcomes = [result(proc) for proc in procs]
    wall = time.monotonic() - started
    counts = stats(emulator.stats_url)
    answered = sum(
        1
        for outcome in outcomes
        for prompt, answer in zip(outcome["prompts"], outcome["answers"], strict=True)
        if answer == f"You said: {prompt}"
    )
    errors = [error for outcome in outcomes for error in outcome["errors"]]
    peak = max(counts["max_in_flight"].values())
    refused = sum(counts["rate_limited"].values())
    floor = PROCESSES * PROMPTS / LIMIT * DELAY
    print(
        f"limiter_url={'redis' if limiter_url and '://' in limiter_url else limiter_url}: {answered}/{PROCESSES * PROMPTS} "
        f"answers, peak in flight {peak}, {refused} 429s, {wall:.2f}s ({wall / floor:.2f}x the "
        f"plan floor {floor:.1f}s, with process start-up)"
    )
    return {"answered": answered, "errors": errors, "peak": peak, "refused": refused}


def every_prompt_answered(got: dict[str, object]) -> None:
    assert got["errors"] == []
    assert got["answered"] == PROCESSES * PROMPTS


def held_to_the_plan(got: dict[str, object]) -> None:
    """Every prompt answered with the key's requests held to the plan's limit: no 429."""
    every_prompt_answered(got)
    assert 1 <= got["peak"] <= LIMIT  # type: ignore[operator]
    assert got["refused"] == 0


def test_shared_limiter_holds_the_plan_limit_across_processes(
    redis_server: RedisServer, queue_emulator: Emulator
) -> None:
    held_to_the_plan(run_batch(queue_emulator, "shared-limit-key-1", redis_server.url))


def test_default_settings_hold_the_plan_limit_across_processes(queue_emulator: Emulator) -> None:
    held_to_the_plan(run_batch(queue_emulator, "shared-limit-key-3", None))  # machine-wide


def test_process_only_limiter_queue_aware_retries_still_answer_all(
    queue_emulator: Emulator,
) -> None:
    got = run_batch(queue_emulator, "shared-limit-key-2", "process")
    every_prompt_answered(got)
    assert got["peak"] <= LIMIT  # type: ignore[operator]  # the server refused the rest
    assert got["refused"] > 0  # type: ignore[operator]  # four processes of 5 each: refusals
