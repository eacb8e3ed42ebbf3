"""Starting `tests/scale/adapter_worker_process.py` processes, and reading the emulator's counts."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.holder_processes import spawn

WORKER = Path(__file__).resolve().parents[1] / "scale" / "adapter_worker_process.py"


def start_worker(**cfg: Any) -> subprocess.Popen[str]:
    """A worker process (this checkout's packages first on its path), started and READY."""
    proc = spawn(WORKER, cfg, unset=("MODELSLAB_LIMITER_URL",))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"worker printed {line!r}; stderr:\n{err}")
    return proc


def go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def result(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def stats(stats_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(stats_url, timeout=5) as response:
        return dict(json.loads(response.read()))


def in_flight(stats_url: str) -> int:
    """Requests the emulator has in flight now, over every key."""
    return sum(stats(stats_url)["in_flight"].values())
