"""Measure one client on one metric in this (fresh) interpreter; print the result as JSON.

    python -m benchmarks.measure CLIENT METRIC --base-url URL [--n N] [--runs R] ...

`run.py` starts one of these per client per metric, so no client inherits another's imports,
caches or warmed-up pools. Each metric does one untimed warm-up, then `runs` timed runs; the
caller takes the median. A run whose answer is wrong (chunk count or text length) is an error,
never a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .clients import RUNNERS, Runner
from .server import TOKEN

__all__ = ["main"]

_PAGE = os.sysconf("SC_PAGE_SIZE")


class WrongAnswer(Exception):
    """The client returned something other than the expected answer."""


def _check(count: int, chars: int, n: int) -> None:
    if count != n or chars != n * len(TOKEN):
        raise WrongAnswer(f"expected {n} chunks / {n * len(TOKEN)} chars, got {count} / {chars}")


Timing = tuple[float, float]  # (wall, CPU of this process), in the metric's unit


def _on_one_loop(runner: Runner, once: Callable[[], Awaitable[Timing]], runs: int) -> list[Timing]:
    """One untimed warm-up, then `runs` timed runs, all on one event loop; the runner's async
    resources closed inside it."""

    async def main() -> list[Timing]:
        try:
            await once()
            return [await once() for _ in range(runs)]
        finally:
            await runner.aclose()

    return asyncio.run(main())


def _stream_sync(runner: Runner, args: argparse.Namespace) -> list[Timing]:
    def once() -> Timing:
        runner.before_run()
        gc.collect()
        count = chars = 0
        started, cpu = time.perf_counter(), time.process_time()
        for text in runner.iter_stream():
            count += 1
            chars += len(text)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        _check(count, chars, runner.n)
        return elapsed / runner.n * 1e6, cpu / runner.n * 1e6

    once()
    return [once() for _ in range(args.runs)]


def _stream_async(runner: Runner, args: argparse.Namespace) -> list[Timing]:
    async def once() -> Timing:
        runner.before_run()
        gc.collect()
        count = chars = 0
        started, cpu = time.perf_counter(), time.process_time()
        async for text in runner.aiter_stream():
            count += 1
            chars += len(text)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        _check(count, chars, runner.n)
        return elapsed / runner.n * 1e6, cpu / runner.n * 1e6

    return _on_one_loop(runner, once, args.runs)


def _request_sync(runner: Runner, args: argparse.Namespace) -> list[Timing]:
    def once(count: int) -> Timing:
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            if runner.request_sync() <= 0:
                raise WrongAnswer("empty answer")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return elapsed / count * 1e6, cpu / count * 1e6

    once(max(args.requests // 10, 10))
    return [once(args.requests) for _ in range(args.runs)]


def _slot(runner: Runner, args: argparse.Namespace) -> list[Timing]:
    """µs to take and give back one in-flight slot, uncontended, as each request does."""
    hold = runner.take_and_give_back  # type: ignore[attr-defined]

    def once(count: int) -> Timing:
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            hold()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return elapsed / count * 1e6, cpu / count * 1e6

    once(1000)
    return [once(args.requests * 100) for _ in range(args.runs)]


def _concurrent(runner: Runner, args: argparse.Namespace) -> list[Timing]:
    async def once() -> Timing:
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        answers = await asyncio.gather(*(runner.request_async() for _ in range(args.concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if len(answers) != args.concurrency or min(answers) <= 0:
            raise WrongAnswer("missing answers")
        return elapsed * 1e3, cpu * 1e3

    return _on_one_loop(runner, once, args.runs)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _hwm() -> int:
    with open("/proc/self/status") as status:
        match = re.search(r"VmHWM:\s+(\d+) kB", status.read())
    return int(match.group(1)) * 1024 if match else 0


def _memory(runner: Runner, args: argparse.Namespace) -> list[Timing]:
    """RSS, not tracemalloc: tracing would slow the slow clients 3x (a 100,000-chunk run of a
    peer would take minutes). The peak is VmHWM after resetting it (/proc/self/clear_refs)."""
    for _ in range(3):  # open the connection, load lazily imported modules
        runner.request_sync()
    runner.before_run()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current RSS
    baseline = _rss()
    step = max(runner.n // 10, 1)
    samples: list[tuple[int, int]] = []
    count = chars = 0
    stopped = False
    started = time.perf_counter()
    deadline = started + args.budget
    stream = runner.iter_stream()
    for text in stream:
        count += 1
        chars += len(text)
        if count % step == 0:
            samples.append((count, _rss() - baseline))
            if time.perf_counter() > deadline and count < runner.n:
                stopped = True  # a client slower than the budget: report what it reached
                break
    close = getattr(stream, "close", None)
    if close is not None:
        close()
    elapsed = time.perf_counter() - started
    peak = _hwm() - baseline
    if not stopped:
        _check(count, chars, runner.n)
    if len(samples) < 2:
        raise WrongAnswer(f"only {count} chunks within the {args.budget:g} s budget")
    # Growth per chunk over the last 80 % of the stream (past start-up allocations).
    last = samples[-1]
    first = next((s for s in samples if s[0] >= count // 5 and s is not last), samples[0])
    slope = (last[1] - first[1]) / max(last[0] - first[0], 1)
    _EXTRA.update(
        {
            "peak_bytes": peak,
            "growth_bytes_per_chunk": slope,
            "answer_bytes": chars,
            "text_bytes_per_chunk": len(TOKEN),
            "rss_samples": samples,
            "seconds": elapsed,
            "chunks": count,
            "stopped_early": stopped,
        }
    )
    return [(peak / 2**20, peak / 2**20)]


_EXTRA: dict[str, Any] = {}
_METRICS: dict[str, tuple[Callable[[Runner, argparse.Namespace], list[Timing]], str]] = {
    "stream_sync": (_stream_sync, "µs/chunk"),
    "stream_async": (_stream_async, "µs/chunk"),
    "request_sync": (_request_sync, "µs/request"),
    "slot": (_slot, "µs/slot"),
    "concurrent": (_concurrent, "ms wall"),
    "memory": (_memory, "MiB peak RSS Δ"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure one client on one metric.")
    parser.add_argument("client", choices=sorted(RUNNERS))
    parser.add_argument("metric", choices=sorted(_METRICS))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, default=2000, help="chunks per stream")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--budget", type=float, default=60.0, help="memory: seconds at most")
    parser.add_argument("--profile", help="write cProfile stats of the timed runs here")
    args = parser.parse_args(argv)

    measure, unit = _METRICS[args.metric]
    runner = RUNNERS[args.client](args.base_url, args.n, unlimited=args.metric == "concurrent")
    if args.metric == "memory":
        runner.build_per_chunk = True  # type: ignore[attr-defined]  # floors: n won't fit
    result: dict[str, Any] = {"client": args.client, "metric": args.metric, "unit": unit}
    try:
        runner.setup()
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            timings = profiler.runcall(measure, runner, args)
            profiler.dump_stats(args.profile)
        else:
            timings = measure(runner, args)
        runner.close()
        walls, cpus = [t[0] for t in timings], [t[1] for t in timings]
        result.update(
            values=walls,
            median=statistics.median(walls),
            cpu_values=cpus,
            cpu_median=statistics.median(cpus),
            extra=_EXTRA,
        )
    except Exception as exc:  # reported in the table, never hidden
        result["error"] = f"{type(exc).__name__}: {exc}"[:300]
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
