"""Run the whole benchmark: every client, every metric, each in a fresh interpreter.

    python -m benchmarks.run            # the full run (about 6 minutes on 2 cores)
    python -m benchmarks.run --quick    # a smoke run (about 2.5 minutes)

Starts `benchmarks.server` in its own process, checks that it is far faster than any client
(raw sockets), then starts one `benchmarks.measure` process per client per metric and one
interpreter per import-time sample. Prints one markdown table with every median, its ratio to
the raw-httpx floor, to the matching peer and to the framework's own floor, and whether each
target is met; writes it to benchmarks/results/latest.md and everything to latest.json. When a
`modelslab_transport` target is missed, the metric is profiled (cProfile) and the hot spots are
written beside the results. Peers that are not installed (the `benchmark` extra) are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import pstats
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clients import RUNNERS

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

METRICS = (
    "stream_sync",
    "stream_async",
    "request_sync",
    "slot",
    "concurrent",
    "import",
    "memory",
)
METRIC_TITLE = {
    "stream_sync": "streaming, sync",
    "stream_async": "streaming, async",
    "request_sync": "non-streaming, sequential",
    "slot": "take + give back an in-flight slot",
    "concurrent": "200 concurrent async requests",
    "import": "import time",
    "memory": "memory, streaming",
}
PEER = {"transport": "openai", "chat_modelslab": "chat_openai", "modelslab_llm": "li_openai"}
FRAMEWORK_FLOOR = {
    "chat_modelslab": "lc_floor",
    "chat_openai": "lc_floor",
    "modelslab_llm": "li_floor",
    "li_openai": "li_floor",
}
# The floors that do the HTTP work too: a minimal model of each framework on httpx + json.loads.
HTTP_FLOOR = {
    "chat_modelslab": "lc_http_floor",
    "chat_openai": "lc_http_floor",
    "modelslab_llm": "li_http_floor",
    "li_openai": "li_http_floor",
}
HTTP_FLOOR_LIMIT = 1.10  # ours against the framework's HTTP floor (issue 22)
IMPORT_FLOOR_LIMIT = 1.15  # `import langchain_modelslab` against langchain-core's chat model
TIMES = "\u00d7"
MEMORY_GROWTH_FACTOR = 2.0  # growth per chunk allowed, as a multiple of the text per chunk


@dataclass
class Plan:
    stream_runs: int  # timed runs per streaming process (after one warm-up)
    request_runs: int  # timed runs per non-streaming / concurrency process
    n: int  # chunks per timed stream
    requests: int  # sequential requests per run
    concurrency: int
    import_samples: int  # fresh interpreters per import (one more is run first, to warm .pyc)
    memory_n: int
    memory_budget: float  # seconds a memory stream may take before it is cut short
    memory_peers: bool
    timeout: float  # per process


FULL = Plan(
    stream_runs=5,
    request_runs=3,
    n=2000,
    requests=300,
    concurrency=200,
    import_samples=3,
    memory_n=100_000,
    memory_budget=40,
    memory_peers=False,
    timeout=180,
)
QUICK = Plan(
    stream_runs=3,
    request_runs=2,
    n=1000,
    requests=100,
    concurrency=50,
    import_samples=1,
    memory_n=10_000,
    memory_budget=15,
    memory_peers=False,
    timeout=90,
)


@dataclass
class Result:
    client: str
    metric: str
    unit: str = ""
    median: float | None = None  # on the run's basis (wall or CPU): ratios and targets use it
    wall_median: float | None = None
    cpu_median: float | None = None
    values: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


# -- the server ------------------------------------------------------------------------------


class Server:
    """`benchmarks.server` in a child process, for the duration of a `with` block."""

    def __init__(self, python: str, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            [python, "-m", "benchmarks.server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.base_url = self._proc.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError("the benchmark server did not start")
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/")[0])

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _request(body: bytes) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )


def _read_response(sock: socket.socket, buffer: bytearray) -> None:
    """Read one response off a keep-alive socket (chunked or content-length), no parsing."""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(1 << 20)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    match = re.search(rb"content-length: (\d+)", head)
    if match:
        length = int(match.group(1))
        while len(rest) < length:
            rest += sock.recv(1 << 20)
        buffer[:] = rest[length:]
        return
    while not rest.endswith(b"0\r\n\r\n"):
        rest += sock.recv(1 << 20)
    buffer.clear()


def server_check(port: int, n: int) -> dict[str, float]:
    """What the server costs seen through raw sockets: the ceiling no client can beat."""
    stream = _request(b'{"stream":true,"max_tokens":%d}' % n)
    plain = _request(b'{"model":"m"}')
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buffer = bytearray()
        sock.sendall(stream)
        _read_response(sock, buffer)
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            sock.sendall(stream)
            _read_response(sock, buffer)
            timings.append((time.perf_counter() - started) / n * 1e6)
        per_chunk = statistics.median(timings)
        started = time.perf_counter()
        for _ in range(300):
            sock.sendall(plain)
            _read_response(sock, buffer)
        per_request = (time.perf_counter() - started) / 300 * 1e6

    async def concurrent() -> float:
        async def one() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(plain)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"content-length: (\d+)", head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            writer.close()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(200)))
        return (time.perf_counter() - started) * 1e3

    walls = [asyncio.run(concurrent()) for _ in range(3)]
    return {
        "stream_us_per_chunk": per_chunk,
        "request_us": per_request,
        "concurrent_200_ms_new_connections": statistics.median(walls),
    }


# -- measuring ---------------------------------------------------------------------------------


def _available(client: str, python: str, env: dict[str, str]) -> str | None:
    module = RUNNERS[client].import_module
    proc = subprocess.run(
        [python, "-c", f"import {module}"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if proc.returncode == 0:
        return None
    last = (proc.stderr.strip().splitlines() or ["import failed"])[-1]
    return f"not importable: {last[:160]}"


def measure(
    client: str,
    metric: str,
    plan: Plan,
    base_url: str,
    python: str,
    env: dict[str, str],
    basis: str,
    profile: Path | None = None,
) -> Result:
    n = plan.memory_n if metric == "memory" else plan.n
    command = [
        python,
        "-m",
        "benchmarks.measure",
        client,
        metric,
        f"--base-url={base_url}",
        f"--n={n}",
        f"--runs={plan.stream_runs if metric.startswith('stream') else plan.request_runs}",
        f"--requests={plan.requests}",
        f"--concurrency={plan.concurrency}",
        f"--budget={plan.memory_budget}",
    ]
    if profile is not None:
        command.append(f"--profile={profile}")
    try:
        proc = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=plan.timeout
        )
    except subprocess.TimeoutExpired:
        return Result(client, metric, error=f"timed out after {plan.timeout:.0f} s")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Result(client, metric, error=f"crashed: {tail[:200]}")
    data = json.loads(lines[-1])
    return Result(
        client,
        metric,
        unit=data.get("unit", ""),
        median=data.get("cpu_median" if basis == "cpu" else "median"),
        wall_median=data.get("median"),
        cpu_median=data.get("cpu_median"),
        values=data.get("values", []),
        extra=data.get("extra", {}),
        error=data.get("error"),
    )


_IMPORT_CODE = (
    "import time, sys\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "import {module}\n"
    "t, c = time.perf_counter() - t, time.process_time() - c\n"
    "import json\n"
    "print(json.dumps({{'seconds': t, 'cpu': c, 'openai': 'openai' in sys.modules}}))\n"
)


def measure_import(client: str, plan: Plan, python: str, env: dict[str, str], basis: str) -> Result:
    """Time `import <module>` in fresh interpreters (the first, warming .pyc files, is dropped)."""
    module = RUNNERS[client].import_module
    samples, cpu_samples, openai_loaded = [], [], False
    for _ in range(plan.import_samples + 1):
        proc = subprocess.run(
            [python, "-c", _IMPORT_CODE.format(module=module)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=plan.timeout,
        )
        if proc.returncode != 0:
            return Result(client, "import", error="import failed")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        samples.append(data["seconds"] * 1e3)
        cpu_samples.append(data["cpu"] * 1e3)
        openai_loaded = openai_loaded or data["openai"]
    values, cpu_values = samples[1:], cpu_samples[1:]
    wall, cpu = statistics.median(values), statistics.median(cpu_values)
    return Result(
        client,
        "import",
        unit="ms",
        median=cpu if basis == "cpu" else wall,
        wall_median=wall,
        cpu_median=cpu,
        values=values,
        extra={"imports_openai": openai_loaded, "module": module},
    )


# -- ratios and targets ------------------------------------------------------------------------


def _ratio(results: dict[tuple[str, str], Result], metric: str, a: str, b: str) -> float | None:
    ra, rb = results.get((a, metric)), results.get((b, metric))
    if ra is None or rb is None or ra.median is None or not rb.median:
        return None
    return ra.median / rb.median


def _composed_floor(results: dict[tuple[str, str], Result], metric: str, client: str) -> float:
    """Raw httpx plus the framework's own floor: what an adapter cannot go below."""
    raw = results.get(("raw", metric))
    floor = results.get((FRAMEWORK_FLOOR.get(client, ""), metric))
    if raw is None or floor is None or raw.median is None or floor.median is None:
        return float("nan")
    return raw.median + floor.median


@dataclass
class Target:
    client: str
    metric: str
    text: str
    measured: str
    met: bool | None


def evaluate(results: dict[tuple[str, str], Result]) -> list[Target]:
    targets: list[Target] = []

    def ratio_target(client: str, metric: str, other: str, limit: float, what: str) -> None:
        value = _ratio(results, metric, client, other)
        measured = "n/a" if value is None else f"{value:.2f}\u00d7"
        met = None if value is None else value <= limit
        targets.append(Target(client, metric, f"≤ {limit:g}\u00d7 {what}", measured, met))

    for metric in ("stream_sync", "stream_async"):
        ratio_target("transport", metric, "raw", 1.5, "raw httpx")
    ratio_target("transport", "request_sync", "raw", 1.3, "raw httpx")
    # The machine-local limiter (the default) against the in-process one it replaced.
    ratio_target("transport", "request_sync", "transport_process", 1.05, "in-process limiter")
    ratio_target("transport", "concurrent", "raw", 1.2, "raw httpx")
    for ours, peer in (("chat_modelslab", "chat_openai"), ("modelslab_llm", "li_openai")):
        for metric in ("stream_sync", "stream_async", "request_sync"):
            what = RUNNERS[HTTP_FLOOR[ours]].label.split(" (")[0]
            ratio_target(ours, metric, HTTP_FLOOR[ours], HTTP_FLOOR_LIMIT, what)
        for metric in ("stream_sync", "stream_async"):
            ratio_target(ours, metric, peer, 0.5, RUNNERS[peer].label)
            # The literal floor has no HTTP at all; this one adds the raw-httpx floor to it.
            mine = results.get((ours, metric))
            composed = _composed_floor(results, metric, ours)
            value = None if mine is None or mine.median is None else mine.median / composed
            targets.append(
                Target(
                    ours,
                    metric,
                    "\u2264 1.5\u00d7 (raw httpx + framework floor)",
                    "n/a" if value is None or value != value else f"{value:.2f}\u00d7",
                    None if value is None or value != value else value <= 1.5,
                )
            )
        ratio_target(ours, "request_sync", peer, 0.7, RUNNERS[peer].label)
    ratio_target("chat_modelslab", "import", "chat_openai", 0.4, "import langchain_openai")
    ratio_target(
        "chat_modelslab",
        "import",
        "lc_floor",
        IMPORT_FLOOR_LIMIT,
        "import langchain_core.language_models.chat_models",
    )
    transport_import = results.get(("transport", "import"))
    if transport_import is not None and transport_import.median is not None:
        imports_openai = bool(transport_import.extra.get("imports_openai"))
        loaded = "loaded" if imports_openai else "not loaded"
        measured = f"{transport_import.median:.0f} ms, openai {loaded}"
        met: bool | None = transport_import.median <= 150 and not imports_openai
    else:
        measured, met = "n/a", None
    targets.append(Target("transport", "import", "≤ 150 ms, never imports openai", measured, met))
    for client in ("transport", "chat_modelslab", "modelslab_llm"):
        memory = results.get((client, "memory"))
        if memory is None or memory.median is None:
            targets.append(Target(client, "memory", "growth ≤ answer text", "n/a", None))
            continue
        growth = memory.extra["growth_bytes_per_chunk"]
        text = memory.extra["text_bytes_per_chunk"]
        targets.append(
            Target(
                client,
                "memory",
                f"growth ≤ {MEMORY_GROWTH_FACTOR:g}\u00d7 text/chunk ({text} B)",
                f"{growth:.0f} B/chunk",
                growth <= MEMORY_GROWTH_FACTOR * text,
            )
        )
    return targets


# -- the table ---------------------------------------------------------------------------------


def _ratio_text(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.2f}{TIMES}"


def _fmt(value: float | None) -> str:
    if value is None or value != value:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(flag: bool | None) -> str:
    return "n/a" if flag is None else ("**met**" if flag else "**missed**")


def table(results: dict[tuple[str, str], Result], targets: list[Target], clients: list[str]) -> str:
    by_row: dict[tuple[str, str], list[Target]] = {}
    for target in targets:
        by_row.setdefault((target.client, target.metric), []).append(target)
    lines = [
        f"| metric | client | wall | CPU | unit | {TIMES} raw httpx | {TIMES} peer "
        f"| {TIMES} framework floor | {TIMES} raw + framework floor | {TIMES} framework HTTP floor "
        "| notes | target | met? |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for metric in METRICS:
        for client in clients:
            result = results.get((client, metric))
            if result is None:
                continue
            label = RUNNERS[client].label
            title = METRIC_TITLE[metric]
            if result.error:
                lines.append(f"| {title} | {label} | — | — | | | | | | | {result.error} | | |")
                continue
            peer = PEER.get(client)
            floor = FRAMEWORK_FLOOR.get(client)
            vs_raw = _ratio(results, metric, client, "raw") if client != "raw" else None
            vs_peer = _ratio(results, metric, client, peer) if peer else None
            vs_floor = _ratio(results, metric, client, floor) if floor else None
            http_floor = HTTP_FLOOR.get(client)
            vs_http_floor = _ratio(results, metric, client, http_floor) if http_floor else None
            composed = None
            if floor and metric.startswith("stream") and result.median is not None:
                composed = result.median / _composed_floor(results, metric, client)
            notes = ""
            if metric == "memory":
                extra = result.extra
                notes = (
                    f"{extra['growth_bytes_per_chunk']:.0f} B/chunk growth, "
                    f"{extra['answer_bytes'] / 2**20:.2f} MiB answer, {extra['seconds']:.1f} s"
                )
                if extra.get("stopped_early"):
                    notes += f", **cut at {extra['chunks']:,} chunks** (time budget)"
            elif metric == "import":
                notes = f"`import {result.extra['module']}`"
                if result.extra.get("imports_openai"):
                    notes += ", loads openai"
            if peer:
                notes = (notes + "; " if notes else "") + f"peer: {RUNNERS[peer].label}"
            row_targets = by_row.get((client, metric), [])
            target_text = "; ".join(t.text for t in row_targets)
            met_text = "; ".join(_met(t.met) for t in row_targets)
            lines.append(
                f"| {title} | {label} | {_fmt(result.wall_median)} | {_fmt(result.cpu_median)} "
                f"| {result.unit} "
                f"| {_ratio_text(vs_raw)} | {_ratio_text(vs_peer)} | {_ratio_text(vs_floor)} "
                f"| {_ratio_text(composed)} | {_ratio_text(vs_http_floor)} "
                f"| {notes} | {target_text} | {met_text} |"
            )
    return "\n".join(lines)


def targets_list(targets: list[Target]) -> str:
    lines = ["| target | measured | met? |", "| --- | --- | --- |"]
    for target in targets:
        name = f"{RUNNERS[target.client].label}, {METRIC_TITLE[target.metric]}: {target.text}"
        lines.append(f"| {name} | {target.measured} | {_met(target.met)} |")
    return "\n".join(lines)


# -- profiling ---------------------------------------------------------------------------------


def profile_summary(path: Path, top: int = 15) -> str:
    """The functions with the most own time, as file:function and % of the profiled total."""
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in raw.items():
        if "gc.collect" in name:
            continue  # between timed runs, not part of them
        rows.append((own, cumulative, calls, f"{_short(filename)}:{line}({name})"))
    total = sum(row[0] for row in rows)
    rows.sort(reverse=True)
    packages: dict[str, float] = {}
    for own, _cumulative, _calls, where in rows:
        head = where.split("/", 1)[0] if "/" in where else "builtins"
        package = head if head in _PACKAGES else "stdlib and other"
        packages[package] = packages.get(package, 0.0) + own
    shares = ", ".join(
        f"{name} {own / total:.0%}" for name, own in sorted(packages.items(), key=lambda p: -p[1])
    )
    lines = [
        f"Profiled {total:.3f} s (cProfile inflates per-call costs). Own time by package: "
        f"{shares}.",
        "",
        "| own % | cumulative % | calls | function |",
    ]
    lines.append("| ---: | ---: | ---: | --- |")
    for own, cumulative, calls, where in rows[:top]:
        lines.append(f"| {own / total:.1%} | {cumulative / total:.1%} | {calls:,} | `{where}` |")
    return "\n".join(lines)


_PACKAGES = {"modelslab_transport", "httpx", "httpcore", "h11", "anyio", "json", "builtins"}


def _short(filename: str) -> str:
    if filename == "~":
        return "builtins"
    stdlib = re.search(r"/lib/python3\.\d+/(.+)$", filename)
    if stdlib and "site-packages" not in filename:
        return stdlib.group(1)
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# -- machine -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            match = re.search(r"model name\s*:\s*(.+)", info.read())
            cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _versions(python: str, env: dict[str, str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for name in ['httpx', 'httpcore', 'pydantic', 'langchain-core', 'llama-index-core',\n"
        "             'openai', 'langchain-openai', 'llama-index-llms-openai']:\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        out[name] = 'not installed'\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True)
    try:
        return dict(json.loads(proc.stdout))
    except ValueError:
        return {}


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the ModelsLab client benchmarks.")
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller streams")
    parser.add_argument("--clients", help="comma-separated subset of: " + ", ".join(RUNNERS))
    parser.add_argument("--metrics", help="comma-separated subset of: " + ", ".join(METRICS))
    parser.add_argument("--profile", action="store_true", help="profile the transport always")
    parser.add_argument(
        "--import-samples", type=int, help="fresh interpreters per import (more on a busy machine)"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the clients")
    parser.add_argument(
        "--output", default="latest", help="results/<OUTPUT>.md and .json (default: latest)"
    )
    parser.add_argument(
        "--basis",
        choices=["auto", "wall", "cpu"],
        default="auto",
        help="which time the ratios and targets use; auto: wall on a quiet machine, the "
        "client process's CPU time when the load average says others share the cores",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.import_samples:
        plan = dataclasses.replace(plan, import_samples=args.import_samples)
    METRIC_TITLE["concurrent"] = f"{plan.concurrency} concurrent async requests"
    clients = args.clients.split(",") if args.clients else list(RUNNERS)
    metrics = args.metrics.split(",") if args.metrics else list(METRICS)
    unknown = sorted(set(clients) - set(RUNNERS)) + sorted(set(metrics) - set(METRICS))
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    if load_start > 0.5 * (os.cpu_count() or 1):
        print(
            f"warning: load average {load_start:.2f} on {os.cpu_count()} cores: something else "
            "is running, absolute figures will be slow and noisy (ratios less so)",
            file=sys.stderr,
        )
    basis = args.basis
    if basis == "auto":
        basis = "cpu" if load_start > 0.5 * (os.cpu_count() or 1) else "wall"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # Never trace to LangSmith or reach a real endpoint from a benchmark.
    env.update(LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false", PYTHONHASHSEED="0")
    # PYTHONDONTWRITEBYTECODE would keep the first interpreter from writing the .pyc files an
    # install has: each import then compiled the repository's modules, never the frameworks'.
    for name in (
        "OPENAI_BASE_URL",
        "MODELSLAB_BASE_URL",
        "LANGSMITH_API_KEY",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(name, None)
    RESULTS.mkdir(parents=True, exist_ok=True)

    skipped: dict[str, str] = {}
    for client in clients:
        reason = _available(client, args.python, env)
        if reason:
            skipped[client] = reason
            print(f"skipping {RUNNERS[client].label}: {reason}", file=sys.stderr)
    clients = [c for c in clients if c not in skipped]

    results: dict[tuple[str, str], Result] = {}
    profiles: dict[str, str] = {}
    with Server(args.python, env) as server:
        check = server_check(server.port, plan.n)
        print(
            f"server via raw sockets: {check['stream_us_per_chunk']:.2f} µs/chunk, "
            f"{check['request_us']:.0f} µs/request, 200 concurrent (new connections) "
            f"{check['concurrent_200_ms_new_connections']:.0f} ms",
            file=sys.stderr,
        )
        for metric in metrics:
            for client in clients:
                runner = RUNNERS[client]
                if metric not in runner.metrics:
                    continue
                if metric == "memory" and runner.kind == "peer" and not plan.memory_peers:
                    continue
                began = time.perf_counter()
                if metric == "import":
                    result = measure_import(client, plan, args.python, env, basis)
                else:
                    result = measure(client, metric, plan, server.base_url, args.python, env, basis)
                result.extra["process_seconds"] = time.perf_counter() - began
                results[(client, metric)] = result
                shown = result.error or f"{_fmt(result.median)} {result.unit}"
                print(
                    f"  {metric:<13} {runner.label:<36} {shown:<24} "
                    f"({time.perf_counter() - began:.1f} s)",
                    file=sys.stderr,
                )

        targets = evaluate(results)
        missed = {t.metric for t in targets if t.client == "transport" and t.met is False}
        to_profile = set(metrics) - {"import"} if args.profile else missed - {"import"}
        for metric in sorted(to_profile):
            if ("transport", metric) not in results:
                continue
            path = RESULTS / f"profile_transport_{metric}.prof"
            result = measure(
                "transport", metric, plan, server.base_url, args.python, env, basis, path
            )
            if result.error is None and path.exists():
                profiles[metric] = profile_summary(path)
                (RESULTS / f"profile_transport_{metric}.md").write_text(profiles[metric] + "\n")

    elapsed = time.perf_counter() - started
    host = machine()
    versions = _versions(args.python, env)
    header = (
        f"Machine: {host['nproc']} cores, {host['cpu']}, Python {host['python']} "
        f"({host['platform']}). Mode: {'quick' if args.quick else 'full'}; "
        f"{plan.n:,} chunks per stream, {plan.requests} sequential requests, "
        f"{plan.concurrency} concurrent, {plan.memory_n:,} chunks for memory; "
        f"medians of {plan.stream_runs} runs (streams) / {plan.request_runs} runs (requests) / "
        f"{plan.import_samples} fresh interpreters (imports). Whole run {elapsed:.0f} s; "
        f"load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end. "
        f"Ratios and targets use **{basis}** time"
        + (
            " (the machine was shared: the client process's CPU time is what stays comparable)"
            if basis == "cpu"
            else ""
        )
        + ".\n"
        f"Server via raw sockets: {check['stream_us_per_chunk']:.2f} µs/chunk, "
        f"{check['request_us']:.0f} µs/request, 200 concurrent on new connections "
        f"{check['concurrent_200_ms_new_connections']:.0f} ms.\n"
        f"Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}."
    )
    body = table(results, targets, clients)
    summary = targets_list(targets)
    markdown = f"{header}\n\n{body}\n\n### Targets\n\n{summary}\n"
    if skipped:
        markdown += (
            "\nSkipped: "
            + "; ".join(f"{RUNNERS[c].label} ({r})" for c, r in skipped.items())
            + "\n"
        )
    for metric, text in profiles.items():
        markdown += f"\n### Profile: modelslab_transport, {METRIC_TITLE[metric]}\n\n{text}\n"
    print(markdown)
    (RESULTS / f"{args.output}.md").write_text(markdown)
    payload = {
        "machine": host,
        "versions": versions,
        "mode": "quick" if args.quick else "full",
        "plan": plan.__dict__,
        "load_average_start": load_start,
        "basis": basis,
        "seconds": elapsed,
        "server_check": check,
        "skipped": skipped,
        "results": [r.__dict__ for r in results.values()],
        "targets": [t.__dict__ for t in targets],
        "profiles": profiles,
    }
    (RESULTS / f"{args.output}.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    )
    print(
        f"wrote {RESULTS / args.output}.md and .json in {elapsed:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
