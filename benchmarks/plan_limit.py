"""One key's plan limit: a batch of 40 at a 5-request queue, side by side, in one run.

    python -m benchmarks.plan_limit            # about a minute on 2 cores
    python -m benchmarks.plan_limit --json out.json

Starts the emulator on loopback with `queue_limit=5` (ModelsLab's pay-as-you-go queue: one
request more gets a 429 with `retry_after`) and gives every request `DELAY` seconds of latency
(the `slow-first-byte` scenario), so requests overlap as they do in production. Then, on one key:

- one process, a batch of 40: ChatModelsLab.abatch, ChatOpenAI.abatch, OpenAILike (LlamaIndex)
  with 40 `achat` calls gathered, each with its default settings;
- 4 processes x 10 and 8 processes x 5 (each an `abatch` of ChatModelsLab): with the in-process
  limiter only (`limiter_url="process"`), with default settings (the machine-local limiter) and
  with the Redis-shared limiter (a redis-server is started on a free loopback port for it).

For each: answers correct out of 40, 429s the emulator sent (its own count, per key), the peak
in flight it saw, wall time and its ratio to the plan floor, ceil(40 / 5) x DELAY. Prints a
markdown table. Peers that are not installed (the `benchmark` extra) are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from modelslab_emulator import Emulator

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
MODEL = "meta-llama-llama-3.1-8b-instruct"
KEY = "bench-plan-key-0123456789"
LIMIT = 5
BATCH = 40
PROCESSES = (4, 8)
DELAY = 0.5  # seconds of server latency per request
SCENARIO = {"X-Emulator-Scenario": f"slow-first-byte;delay={DELAY}"}
#: What every client is given alike: the model, the key and the scenario header.
SAME: dict[str, Any] = {"model": MODEL, "api_key": KEY, "default_headers": SCENARIO}
TIMES = "\u00d7"


@dataclass
class Row:
    client: str
    answers: int
    failures: int
    refusals: int
    peak: int
    wall: float
    note: str = ""


def prompts(offset: int, count: int) -> list[str]:
    return [f"prompt number {offset + i}" for i in range(count)]


def correct(answers: list[str], asked: list[str]) -> int:
    return sum(
        answer == f"You said: {prompt}" for answer, prompt in zip(answers, asked, strict=True)
    )


# -- the clients, each as a new user would write it -------------------------------------------


async def ours(base_url: str, asked: list[str], limiter_url: str | None = None) -> list[str]:
    from langchain_modelslab import ChatModelsLab

    extra: dict[str, Any] = {} if limiter_url is None else {"limiter_url": limiter_url}
    llm = ChatModelsLab(base_url=base_url, **SAME, **extra)
    results = await llm.abatch(asked, return_exceptions=True)  # type: ignore[arg-type]
    return [str(r.content) if not isinstance(r, BaseException) else "" for r in results]


async def chat_openai(base_url: str, asked: list[str]) -> list[str]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=base_url, **SAME)
    results = await llm.abatch(asked, return_exceptions=True)  # type: ignore[arg-type]
    return [str(r.content) if not isinstance(r, BaseException) else "" for r in results]


async def openai_like(base_url: str, asked: list[str]) -> list[str]:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(api_base=base_url, is_chat_model=True, **SAME)

    async def one(prompt: str) -> str:
        try:
            reply = await llm.achat([ChatMessage(role="user", content=prompt)])
        except Exception:
            return ""
        return str(reply.message.content)

    return list(await asyncio.gather(*(one(p) for p in asked)))


def measure(emulator: Emulator, label: str, run: Any) -> Row:
    emulator.clear()
    asked = prompts(0, BATCH)
    start = time.perf_counter()
    answers = asyncio.run(run(emulator.base_url, asked))
    wall = time.perf_counter() - start
    return row(emulator, label, correct(answers, asked), wall)


def row(emulator: Emulator, label: str, good: int, wall: float) -> Row:
    """One client's row: its correct answers and wall time, the emulator's counts for the key."""
    fingerprint = Emulator.fingerprint(KEY)
    return Row(
        label,
        good,
        BATCH - good,
        emulator.rate_limited.get(fingerprint, 0),
        emulator.max_in_flight.get(fingerprint, 0),
        wall,
    )


# -- N processes x 40/N -----------------------------------------------------------------------


def worker(base_url: str, index: int, count: int, limiter_url: str | None) -> None:
    """One of `count` worker processes: import, say so, wait for the parent's go, run its
    share of the batch, report."""
    asked = prompts(index * (BATCH // count), BATCH // count)
    import langchain_modelslab  # noqa: F401  (imported before the start: not timed)

    print("ready", flush=True)
    sys.stdin.readline()  # the go: every worker is imported by then, however busy the machine
    answers = asyncio.run(ours(base_url, asked, limiter_url))
    print(json.dumps({"correct": correct(answers, asked), "end": time.time()}), flush=True)


def processes(emulator: Emulator, count: int, limiter_url: str | None) -> Row:
    emulator.clear()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("MODELSLAB_LIMITER_URL", None)  # default settings mean no limiter_url at all
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.plan_limit", "--worker", emulator.base_url]
            + [str(i), "--processes", str(count)]
            + ([] if limiter_url is None else ["--limiter-url", limiter_url]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            text=True,
        )
        for i in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker failed to start")
    start = time.time()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    good, ends = 0, []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        line = json.loads(out.strip().splitlines()[-1])
        good += int(line["correct"])
        ends.append(float(line["end"]))
    return row(emulator, process_label(count, limiter_url), good, max(ends) - start)


def process_label(count: int, limiter_url: str | None) -> str:
    how = {None: "default settings", "process": "in-process limiter only"}
    return f"{count} processes {TIMES} {BATCH // count}, " + how.get(
        limiter_url, "shared limiter (Redis)"
    )


class Redis:
    """A redis-server on a free loopback port, no persistence, for the shared-limiter run."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", self._dir]
        self._proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)
        shutil.rmtree(self._dir, ignore_errors=True)


def has_limiter_url() -> bool:
    from langchain_modelslab import ChatModelsLab

    return "limiter_url" in ChatModelsLab.model_fields


# -- the run ---------------------------------------------------------------------------------


def run_all() -> list[Row]:
    rows: list[Row] = []
    import langchain_modelslab  # noqa: F401  (imports are not part of the timed batch)

    with Emulator(queue_limit=LIMIT, queue_retry_after=1) as emulator:
        rows.append(measure(emulator, "ChatModelsLab.abatch", ours))
        for label, runner, module in (
            ("ChatOpenAI.abatch", chat_openai, "langchain_openai"),
            ("OpenAILike, 40 achat gathered", openai_like, "llama_index.llms.openai_like"),
        ):
            try:
                __import__(module)  # before the clock starts, like ours above
            except ImportError:
                print(f"skipped {label}: {module} is not installed", file=sys.stderr)
                continue
            rows.append(measure(emulator, label, runner))
        if not has_limiter_url():
            print("skipped the processes: no limiter_url on ChatModelsLab", file=sys.stderr)
            return rows
        redis = Redis()
        try:
            for count in PROCESSES:
                for limiter_url in ("process", None, redis.url):
                    rows.append(processes(emulator, count, limiter_url))
        finally:
            redis.stop()
    return rows


def table(rows: list[Row]) -> str:
    floor = math.ceil(BATCH / LIMIT) * DELAY
    lines = [
        f"Batch of {BATCH} on one key, emulator queue limit {LIMIT}, {DELAY} s per request; "
        f"plan floor ceil({BATCH}/{LIMIT}) {TIMES} {DELAY} s = {floor:.1f} s.",
        "",
        "| client | answers | failed | 429s sent | peak in flight | wall | vs floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.client} | {row.answers}/{BATCH} | {row.failures} | {row.refusals} | "
            f"{row.peak} | {row.wall:.2f} s | {row.wall / floor:.2f}{TIMES} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", nargs=2, metavar=("BASE_URL", "INDEX"))
    parser.add_argument("--processes", type=int, default=PROCESSES[0])
    parser.add_argument("--limiter-url")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.worker:
        base_url, index = args.worker
        worker(base_url, int(index), args.processes, args.limiter_url)
        return
    rows = run_all()
    print(table(rows))
    print(
        f"\n{time.strftime('%Y-%m-%d', time.gmtime())}, {platform.platform()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
