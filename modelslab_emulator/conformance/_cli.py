"""``python -m modelslab_emulator.conformance``: probe a ModelsLab endpoint, compare, record."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from .._catalog import find_model
from .._emulator import Emulator
from ._compare import differences
from ._host import HOST, classify
from ._plan import Planned, budget, plan
from ._probes import DEFAULT_MODEL, MAX_PROBES
from ._recording import fixture, write_fixture
from ._redact import Redactor
from ._replay import compare_recordings
from ._report import ProbeResult, render
from ._shape import shape_of
from ._wire import Exchange, client, send

REAL_BASE_URL = "https://modelslab.com/api/v7/llm"
# Keys for loopback emulators only; they open nothing anywhere else.
LOCAL_KEY = "conformance-local-key"
REFERENCE_KEY = "conformance-reference-key"

OK, DIFFERENT, USAGE = 0, 1, 2


class _Setup(Exception):
    """A usage or setup problem: printed as one line, exit status 2."""


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is a loopback name or address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelslab_emulator.conformance",
        description=(
            "Send a small fixed set of requests to a ModelsLab endpoint and to the bundled "
            "emulator, record the exchanges (key redacted) and report every difference in "
            "shape. Exit status: 0 no differences, 1 differences, 2 usage or setup error."
        ),
    )
    parser.add_argument(
        "--base-url",
        help="endpoint to probe (default: MODELSLAB_BASE_URL, else the real API when "
        "MODELSLAB_API_KEY is set, else an emulator started here on loopback)",
    )
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="ID",
        help=f"model id to probe (repeatable; default {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--out", default="conformance-out", type=Path, help="folder for recordings and report"
    )
    parser.add_argument(
        "--yes", action="store_true", help="agree to send the probes to a non-loopback endpoint"
    )
    parser.add_argument(
        "--recordings",
        type=Path,
        metavar="DIR",
        help="send nothing out: hold the emulator to the recordings in DIR (e.g. "
        "tests/fixtures/wire/recorded) and write OUT/report.md",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conformance probes; returns the exit status."""
    args = _parser().parse_args(argv)
    key = (os.environ.get("MODELSLAB_API_KEY") or "").strip()
    redactor = Redactor(key) if key else Redactor()
    out = _Printer(sys.stdout, redactor)
    err = _Printer(sys.stderr, redactor)
    try:
        return _run(args, key, redactor, out)
    except _Setup as problem:
        err.line(f"conformance: {problem}")
        return USAGE
    except KeyboardInterrupt:
        err.line("conformance: interrupted")
        return USAGE
    except Exception:
        err.line(traceback.format_exc().rstrip())
        return USAGE


class _Printer:
    """Every line printed passes the redactor."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def line(self, text: str) -> None:
        print(self._redactor.text(text), file=self._stream, flush=True)


def _run(args: argparse.Namespace, key: str, redactor: Redactor, out: _Printer) -> int:
    if args.recordings is not None:
        return _replay(args, redactor, out)
    if key and len(key) < 8:
        raise _Setup("MODELSLAB_API_KEY looks too short to be a key")
    models: list[str] = args.models or [DEFAULT_MODEL]
    planned = plan(models)
    if len(planned) > MAX_PROBES:
        raise _Setup(
            f"{len(models)} models make {len(planned)} probes; at most {MAX_PROBES} are sent "
            "per run (run it once per model or two)"
        )
    base_url = (
        args.base_url or os.environ.get("MODELSLAB_BASE_URL") or (REAL_BASE_URL if key else None)
    )
    if base_url is not None and not urlsplit(base_url).scheme.startswith("http"):
        raise _Setup(f"--base-url must be an http(s) URL, not {base_url!r}")
    local = base_url is None or is_loopback(base_url)
    if not local:
        if not key:
            raise _Setup(f"{base_url} needs MODELSLAB_API_KEY")
        if not args.yes:
            _announce(out, planned, base_url or "", local=False)
            raise _Setup("refusing to send requests to a non-loopback endpoint without --yes")
    unknown = [m for m in models if find_model(m) is None]
    for model in unknown:
        out.line(f"note: the emulator does not serve {model}; it answers its probes with 404")
    with contextlib.ExitStack() as stack:
        if base_url is None:
            emulator = stack.enter_context(Emulator(api_keys=[LOCAL_KEY]))
            base_url, key = emulator.base_url, LOCAL_KEY
        key = key or LOCAL_KEY
        _announce(out, planned, base_url, local=local)
        reference = stack.enter_context(Emulator(api_keys=[REFERENCE_KEY]))
        target_http = stack.enter_context(client(base_url, local=local))
        reference_http = stack.enter_context(client(reference.base_url, local=True))
        when = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        results: list[ProbeResult] = []
        host_answers: dict[str, Exchange] = {}
        reached = False
        for number, item in enumerate(planned, 1):
            target = send(target_http, item.probe, key)
            mirror = send(reference_http, item.probe, REFERENCE_KEY)
            reached = reached or target.status is not None
            if HOST in item.probe.tags:
                host_answers[item.probe.name] = target
            result = _compare(item, target, mirror)
            result.recordings = _record(args.out, item, when, base_url, target, mirror, redactor)
            results.append(result)
            verdict = f"{len(result.differences)} differences" if result.differences else "same"
            out.line(
                f"[{number:2}/{len(planned)}] {item.name}: {result.target_status} "
                f"(emulator {result.reference_status}) {verdict}"
            )
    if not reached:
        raise _Setup(f"no answer from {base_url}: nothing compared")
    completion, prompt = budget(planned)
    cost = _cost_text(completion, prompt, local)
    host = classify(host_answers)
    out.line(f"host profile: {host.profile}")
    report = render(
        results,
        target=base_url,
        models=models,
        when=when,
        cost=cost,
        unknown=unknown,
        host=(host.profile, host.evidence),
    )
    report_path = args.out / "report.md"
    report_path.write_text(redactor.text(report), encoding="utf-8")
    differing = sum(1 for r in results if r.differences)
    out.line(f"{differing} of {len(results)} probes differ; report: {report_path}")
    return DIFFERENT if differing else OK


def _replay(args: argparse.Namespace, redactor: Redactor, out: _Printer) -> int:
    folder: Path = args.recordings
    if args.base_url or args.models:
        raise _Setup("--recordings compares recordings with the emulator: no --base-url/--model")
    if not folder.is_dir() or not any(folder.glob("*.json")):
        raise _Setup(f"no recordings (*.json) in {folder}")
    out.line(f"Comparing the emulator with the recordings in {folder} (offline, free)")
    when = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    results = compare_recordings(folder, REFERENCE_KEY)
    for result in results:
        verdict = f"{len(result.differences)} differences" if result.differences else "same"
        out.line(f"{result.name}: {verdict}")
    report = render(
        results,
        target=f"the recordings in `{folder}`",
        models=sorted({str(m) for m in _models(results)}),
        when=when,
        cost="nothing sent beyond loopback",
        label="recording",
    )
    args.out.mkdir(parents=True, exist_ok=True)
    report_path = args.out / "report.md"
    report_path.write_text(redactor.text(report), encoding="utf-8")
    differing = sum(1 for r in results if r.differences)
    out.line(f"{differing} of {len(results)} recordings differ; report: {report_path}")
    return DIFFERENT if differing else OK


def _models(results: list[ProbeResult]) -> list[str]:
    return [r.name.split("--", 1)[1] for r in results if "--" in r.name]


def _announce(out: _Printer, planned: list[Planned], base_url: str, *, local: bool) -> None:
    completion, prompt = budget(planned)
    out.line(f"Conformance run: {len(planned)} requests to {base_url}")
    out.line("cost: " + _cost_text(completion, prompt, local))


def _cost_text(completion: int, prompt: int, local: bool) -> str:
    where = "loopback, so free" if local else "billed to the key's account"
    return (
        f"at most {completion} completion tokens in all (the sum of every probe's "
        f"max_tokens) plus about {prompt} prompt tokens ({where})"
    )


def _status(exchange: Exchange) -> str:
    status = "no answer" if exchange.status is None else str(exchange.status)
    return f"{status}, cut short" if exchange.failure and exchange.status else status


def _compare(item: Planned, target: Exchange, mirror: Exchange) -> ProbeResult:
    ours = shape_of(
        target.status, target.headers, target.text, failure=target.failure, tags=item.probe.tags
    )
    theirs = shape_of(
        mirror.status, mirror.headers, mirror.text, failure=mirror.failure, tags=item.probe.tags
    )
    return ProbeResult(
        item.name,
        item.probe.purpose,
        _status(target),
        _status(mirror),
        differences(ours, theirs),
    )


def _record(
    out: Path,
    item: Planned,
    when: str,
    base_url: str,
    target: Exchange,
    mirror: Exchange,
    redactor: Redactor,
) -> list[str]:
    written = []
    pairs = [
        ("recorded", target, f"recorded {when} from {base_url}"),
        ("emulator", mirror, f"emulator reference, {when}"),
    ]
    for folder, exchange, source in pairs:
        if exchange.status is None:
            continue  # nothing came back: nothing to replay
        document = fixture(item.name, source, exchange, redactor)
        path = write_fixture(out / folder, document, redactor)
        written.append(str(path.relative_to(out)))
    return written
