"""Run the whole benchmark: every client, every metric, each in a fresh interpreter.

    python -m benchmarks.run            # the full run (about 5 minutes on 2 cores)
    python -m benchmarks.run --quick    # a smoke run (about 1 minute)

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

METRICS = ("stream_sync", "stream_async", "request_sync", "concurrent", "import", "memory")
METRIC_TITLE = {
    "stream_sync": "streaming, sync",
    "stream_async": "streaming, async",
    "request_sync": "non-streaming, sequential",
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
MEMORY_GROWTH_FACTOR = 2.0  # growth per chunk allowed, as a multiple of the text per chunk


@dataclass
class Plan:
    runs: int
    n: int
    requests: int
    concurrency: int
    import_samples: int
    memory_n: int
    memory_peers: bool
    timeout: float


FULL = Plan(
    runs=7,
    n=2000,
    requests=300,
    concurrency=200,
    import_samples=5,
    memory_n=100_000,
    memory_peers=True,
    timeout=240,
)
QUICK = Plan(
    runs=3,
    n=2000,
    requests=100,
    concurrency=200,
    import_samples=2,
    memory_n=20_000,
    memory_peers=False,
    timeout=120,
)


@dataclass
class Result:
    client: str
    metric: str
    unit: str = ""
    median: float | None = None
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
        f"--runs={plan.runs if metric.startswith('stream') else max(plan.runs - 2, 3)}",
        f"--requests={plan.requests}",
        f"--concurrency={plan.concurrency}",
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
        median=data.get("median"),
        values=data.get("values", []),
        extra=data.get("extra", {}),
        error=data.get("error"),
    )


_IMPORT_CODE = (
    "import time, sys\n"
    "t = time.perf_counter()\n"
    "import {module}\n"
    "t = time.perf_counter() - t\n"
    "import json\n"
    "print(json.dumps({{'seconds': t, 'openai': 'openai' in sys.modules}}))\n"
)


def measure_import(client: str, plan: Plan, python: str, env: dict[str, str]) -> Result:
    """Time `import <module>` in fresh interpreters (the first, warming .pyc files, is dropped)."""
    module = RUNNERS[client].import_module
    samples, openai_loaded = [], False
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
        openai_loaded = openai_loaded or data["openai"]
    values = samples[1:]
    return Result(
        client,
        "import",
        unit="ms",
        median=statistics.median(values),
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
        measured = "n/a" if value is None else f"{value:.2f}×"
        met = None if value is None else value <= limit
        targets.append(Target(client, metric, f"≤ {limit:g}× {what}", measured, met))

    for metric in ("stream_sync", "stream_async"):
        ratio_target("transport", metric, "raw", 1.5, "raw httpx")
    ratio_target("transport", "request_sync", "raw", 1.3, "raw httpx")
    ratio_target("transport", "concurrent", "raw", 1.2, "raw httpx")
    for ours, peer, floor in (
        ("chat_modelslab", "chat_openai", "lc_floor"),
        ("modelslab_llm", "li_openai", "li_floor"),
    ):
        for metric in ("stream_sync", "stream_async"):
            ratio_target(ours, metric, peer, 0.5, RUNNERS[peer].label)
            ratio_target(ours, metric, floor, 1.5, "framework floor")
        ratio_target(ours, "request_sync", peer, 0.7, RUNNERS[peer].label)
    ratio_target("chat_modelslab", "import", "chat_openai", 0.4, "import langchain_openai")
    transport_import = results.get(("transport", "import"))
    if transport_import is not None and transport_import.median is not None:
        imports_openai = bool(transport_import.extra.get("imports_openai"))
        measured = f"{transport_import.median:.0f} ms, openai {'loaded' if imports_openai else 'not loaded'}"
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
                f"growth ≤ {MEMORY_GROWTH_FACTOR:g}× text/chunk ({text} B)",
                f"{growth:.0f} B/chunk",
                growth <= MEMORY_GROWTH_FACTOR * text,
            )
        )
    return targets


# -- the table ---------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or value != value:
        return "—"
    if unit == "×":
        return f"{value:.2f}×"
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
        "| metric | client | median | unit | × raw httpx | × peer | × framework floor "
        "| × raw + framework floor | notes | target | met? |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for metric in METRICS:
        for client in clients:
            result = results.get((client, metric))
            if result is None:
                continue
            label = RUNNERS[client].label
            title = METRIC_TITLE[metric]
            if result.error:
                lines.append(
                    f"| {title} | {label} | — | | | | | | {result.error} | | |"
                )
                continue
            peer = PEER.get(client)
            floor = FRAMEWORK_FLOOR.get(client)
            vs_raw = _ratio(results, metric, client, "raw") if client != "raw" else None
            vs_peer = _ratio(results, metric, client, peer) if peer else None
            vs_floor = _ratio(results, metric, client, floor) if floor else None
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
                f"| {title} | {label} | {_fmt(result.median)} | {result.unit} "
                f"| {_fmt(vs_raw, '×')} | {_fmt(vs_peer, '×')} | {_fmt(vs_floor, '×')} "
                f"| {_fmt(composed, '×')} | {notes} | {target_text} | {met_text} |"
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
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((own, cumulative, calls, f"{_short(filename)}:{line}({name})"))
    rows.sort(reverse=True)
    lines = [f"total {total:.3f} s profiled", "| own % | cumulative % | calls | function |"]
    lines.append("| ---: | ---: | ---: | --- |")
    for own, cumulative, calls, where in rows[:top]:
        lines.append(f"| {own / total:.1%} | {cumulative / total:.1%} | {calls:,} | `{where}` |")
    return "\n".join(lines)


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/main/", str(ROOT) + "/"):
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
    parser.add_argument("--python", default=sys.executable, help="interpreter for the clients")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    clients = args.clients.split(",") if args.clients else list(RUNNERS)
    metrics = args.metrics.split(",") if args.metrics else list(METRICS)
    unknown = sorted(set(clients) - set(RUNNERS)) + sorted(set(metrics) - set(METRICS))
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")

    started = time.perf_counter()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # Never trace to LangSmith or reach a real endpoint from a benchmark.
    env.update(LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false", PYTHONHASHSEED="0")
    for name in ("OPENAI_BASE_URL", "MODELSLAB_BASE_URL", "LANGSMITH_API_KEY"):
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
                if metric == "import":
                    result = measure_import(client, plan, args.python, env)
                else:
                    result = measure(client, metric, plan, server.base_url, args.python, env)
                results[(client, metric)] = result
                shown = result.error or f"{_fmt(result.median)} {result.unit}"
                print(f"  {metric:<13} {runner.label:<36} {shown}", file=sys.stderr)

        targets = evaluate(results)
        missed = {t.metric for t in targets if t.client == "transport" and t.met is False}
        to_profile = set(metrics) - {"import"} if args.profile else missed - {"import"}
        for metric in sorted(to_profile):
            if ("transport", metric) not in results:
                continue
            path = RESULTS / f"profile_transport_{metric}.prof"
            result = measure("transport", metric, plan, server.base_url, args.python, env, path)
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
        f"medians of {plan.runs} runs (streams) / {max(plan.runs - 2, 3)} runs (requests) / "
        f"{plan.import_samples} fresh interpreters (imports). Whole run {elapsed:.0f} s.\n"
        f"Server via raw sockets: {check['stream_us_per_chunk']:.2f} µs/chunk, "
        f"{check['request_us']:.0f} µs/request, 200 concurrent on new connections "
        f"{check['concurrent_200_ms_new_connections']:.0f} ms.\n"
        f"Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}."
    )
    body = table(results, targets, clients)
    summary = targets_list(targets)
    markdown = f"{header}\n\n{body}\n\n### Targets\n\n{summary}\n"
    if skipped:
        markdown += "\nSkipped: " + "; ".join(f"{RUNNERS[c].label} ({r})" for c, r in skipped.items()) + "\n"
    for metric, text in profiles.items():
        markdown += f"\n### Profile: modelslab_transport, {METRIC_TITLE[metric]}\n\n{text}\n"
    print(markdown)
    (RESULTS / "latest.md").write_text(markdown)
    payload = {
        "machine": host,
        "versions": versions,
        "mode": "quick" if args.quick else "full",
        "plan": plan.__dict__,
        "seconds": elapsed,
        "server_check": check,
        "skipped": skipped,
        "results": [r.__dict__ for r in results.values()],
        "targets": [t.__dict__ for t in targets],
        "profiles": profiles,
    }
    (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS / 'latest.md'} and {RESULTS / 'latest.json'} in {elapsed:.0f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
