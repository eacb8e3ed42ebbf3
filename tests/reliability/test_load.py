"""Load against the emulator, with ~10 % of requests meeting an injected 429 or 5xx (once, so the
retry succeeds): 2,000 requests through each adapter's async batch API at concurrency 100 and
500 through its sync API from a thread pool. All succeed with the right answers; the server
never sees more requests in flight per key than `max_concurrent_requests`; file descriptors
and threads come back to where they were; memory stays flat. Loopback only.

Faults are injected per request by an httpx event hook on an injected client: the hook reads
the prompt's number and adds the X-Emulator-Scenario header: a 429 or a 503 to every tenth
request, and a 0.1 s hold at the server to each round's first hundred, so that the first wave
of callers piles up at the server and the limit is reached (with the limiter removed, the
server sees the whole wave at once).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from modelslab_emulator import SCENARIO_HEADER, Emulator
from tests.support.adapter_modes import make

pytestmark = pytest.mark.load

ASYNC_REQUESTS = 2000
SYNC_REQUESTS = 500
CONCURRENCY = 100
LIMIT = 10  # max_concurrent_requests
HOLD = 0.1  # seconds the server holds each of a round's first HELD requests before answering
HELD = 100
MODEL = "meta-llama-llama-3.1-8b-instruct"  # no reasoning: short answers, more requests/s
FIGURES: dict[str, Any] = {}


def _scenario_for(body: bytes, run: str) -> str:
    number = int(json.loads(body)["messages"][-1]["content"].rsplit(" ", 1)[1])
    # The first HELD requests of each round (each async half starts at a multiple of 1000) are
    # held at the server for HOLD: the callers' first wave then overlaps there, so the limit is
    # reached, and without the limiter the server would see up to CONCURRENCY in flight.
    delay = HOLD if number % 1000 < HELD else 0
    hold = f"slow-first-byte;delay={delay};id={run}-{number}"
    if number % 20 == 3:
        return f"rate-limit;times=1;retry_after=0.01, {hold}"
    if number % 20 == 13:
        return f"server-error;times=1;status=503, {hold}"
    return hold


def _hooked_clients(run: str) -> tuple[httpx.Client, httpx.AsyncClient]:
    def hook(request: httpx.Request) -> None:
        request.headers[SCENARIO_HEADER] = _scenario_for(request.content, run)

    async def ahook(request: httpx.Request) -> None:
        hook(request)

    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return (
        httpx.Client(limits=limits, event_hooks={"request": [hook]}),
        httpx.AsyncClient(limits=limits, event_hooks={"request": [ahook]}),
    )


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _settle(baseline: tuple[int, int], timeout: float = 10.0) -> tuple[int, int]:
    """Wait until fds and threads return to `baseline` (server threads finish after their
    connections close), then report them."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        now = (_fds(), threading.active_count())
        if (now[0] <= baseline[0] and now[1] <= baseline[1]) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def _model(adapter: str, emulator: Emulator, key: str, run: str) -> tuple[Any, list[Any]]:
    http, ahttp = _hooked_clients(run)
    clients = {"http_client": http}
    clients["http_async_client" if adapter == "langchain" else "async_http_client"] = ahttp
    llm = make(
        adapter,
        api_key=key,
        base_url=emulator.base_url,
        model=MODEL,
        max_concurrent_requests=LIMIT,
        max_retries=2,
        **clients,
    )
    return llm, [http, ahttp]


def _prompts(count: int) -> list[str]:
    return [f"load request {i}" for i in range(count)]


async def _async_round(adapter: str, llm: Any, prompts: list[str]) -> list[str]:
    if adapter == "langchain":
        messages = await llm.abatch(prompts, config={"max_concurrency": CONCURRENCY})
        return [m.content for m in messages]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(prompt: str) -> str:
        async with gate:
            response = await llm.achat([ChatMessage(role=MessageRole.USER, content=prompt)])
            return response.message.content or ""

    return list(await asyncio.gather(*(one(p) for p in prompts)))


def _sync_round(adapter: str, llm: Any, prompts: list[str]) -> list[str]:
    if adapter == "langchain":
        messages = llm.batch(prompts, config={"max_concurrency": 50})
        return [m.content for m in messages]

    def one(prompt: str) -> str:
        return llm.chat([ChatMessage(role=MessageRole.USER, content=prompt)]).message.content or ""

    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(one, prompts))


def _check(
    emulator: Emulator, key: str, run: str, prompts: list[str], answers: list[str]
) -> dict[str, int]:
    assert answers == [f"You said: {p}" for p in prompts]
    mine = [r for r in emulator.requests if r.body.get("messages") and _is_mine(r, run)]
    faulty = [r for r in mine if r.status in (429, 503)]
    expected_faults = sum(1 for p in prompts if int(p.rsplit(" ", 1)[1]) % 20 in (3, 13))
    assert len(faulty) == expected_faults  # ~10 %, each retried once and then answered
    assert len(mine) == len(prompts) + expected_faults
    peak = emulator.max_in_flight[emulator.fingerprint(key)]
    # The limit is reached (the load is real: without the limiter the peak goes far past it)
    # and never exceeded.
    assert peak == LIMIT
    return {"requests": len(prompts), "attempts": len(mine), "faults": len(faulty), "peak": peak}


def _is_mine(record: Any, run: str) -> bool:
    return record.scenario is not None and f"id={run}-" in record.scenario


@pytest.mark.parametrize("adapter", ["langchain", "llama_index"])
def test_load(adapter: str, emulator: Emulator) -> None:
    key = f"sk-load-{adapter}"
    # Warm up (imports, lazy singletons) before the baseline.
    warm, warm_clients = _model(adapter, emulator, key, "warm")
    _sync_round(adapter, warm, _prompts(4))

    async def warm_up() -> None:
        await _async_round(adapter, warm, _prompts(4))
        await warm_clients[1].aclose()

    asyncio.run(warm_up())
    warm_clients[0].close()
    baseline = _settle((10**6, 10**6), timeout=0)
    baseline = _settle(baseline)
    emulator.clear()
    started = time.monotonic()
    tracemalloc.start()

    run = f"{adapter}-async"
    llm, clients = _model(adapter, emulator, key, run)
    prompts = _prompts(ASYNC_REQUESTS)
    half = ASYNC_REQUESTS // 2

    halves: list[dict[str, int]] = []

    async def both_halves() -> tuple[int, int]:
        marks = []
        for part in (prompts[:half], prompts[half:]):
            answers = await _async_round(adapter, llm, part)
            halves.append(_check(emulator, key, run, part, answers))
            emulator.clear()  # drop the emulator's own log before measuring
            gc.collect()
            marks.append(tracemalloc.get_traced_memory()[0])
        await clients[1].aclose()
        return marks[0], marks[1]

    mid_mem, end_mem = asyncio.run(both_halves())
    tracemalloc.stop()
    async_seconds = time.monotonic() - started
    async_figures = {
        "requests": sum(h["requests"] for h in halves),
        "attempts": sum(h["attempts"] for h in halves),
        "faults": sum(h["faults"] for h in halves),
        "peak": max(h["peak"] for h in halves),
    }
    during_fds = _fds()

    sync_started = time.monotonic()
    sync_prompts = _prompts(SYNC_REQUESTS)
    sync_answers = _sync_round(adapter, llm, sync_prompts)
    sync_seconds = time.monotonic() - sync_started
    sync_figures = _check(emulator, key, run, sync_prompts, sync_answers)
    clients[0].close()

    after = _settle(baseline)
    FIGURES[adapter] = {
        "async": async_figures,
        "sync": sync_figures,
        "async_seconds": round(async_seconds, 1),
        "sync_seconds": round(sync_seconds, 1),
        "fds_before": baseline[0],
        "fds_between_rounds": during_fds,
        "fds_after": after[0],
        "threads_before": baseline[1],
        "threads_after": after[1],
        "traced_growth_kib": (end_mem - mid_mem) // 1024,
        "rss_kib": _rss_kib(),
    }
    print(f"\nload figures {adapter}: {FIGURES[adapter]}")
    assert after[0] <= baseline[0] + 2, FIGURES[adapter]
    assert after[1] <= baseline[1] + 1, FIGURES[adapter]
    assert during_fds <= baseline[0] + 4 * LIMIT + 10  # the pools stay bounded by the limit
    # Memory is flat: the second half of the run keeps no more than the first left behind.
    assert end_mem - mid_mem < 2 * 1024 * 1024, FIGURES[adapter]
