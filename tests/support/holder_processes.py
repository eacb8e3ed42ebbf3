"""Starting `tests/scale/slot_holder_process.py` in separate OS processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HOLDER = ROOT / "tests" / "scale" / "slot_holder_process.py"


def checkout_path() -> str:
    """PYTHONPATH with this checkout first, so child processes import its packages."""
    return os.pathsep.join(part for part in (str(ROOT), os.environ.get("PYTHONPATH")) if part)


def spawn(script: Path, cfg: dict[str, Any], unset: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """`script` in a new Python process, given `cfg` as JSON, with pipes for stdin/out/err;
    the environment is this one's, minus the `unset` variables."""
    env = dict(os.environ, PYTHONPATH=checkout_path())
    for name in unset:
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def start_holder(**cfg: Any) -> subprocess.Popen[str]:
    """A holder process (see `slot_holder_process.py`)."""
    return spawn(HOLDER, cfg)


def read_event(proc: subprocess.Popen[str], word: str) -> float:
    """Block until the holder prints `word <time>`; return that unix time."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(word):
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"holder printed {line!r}, not {word}; stderr:\n{err}")
    return float(line.split()[1])


@contextmanager
def held_elsewhere(url: str, key: str, limit: int = 1, **cfg: Any) -> Iterator[None]:
    """Another OS process holds one slot of `key` for the duration of the block."""
    proc = start_holder(mode="hold", url=url, key=key, limit=limit, hold="stdin", **cfg)
    try:
        read_event(proc, "HELD")
        yield
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        read_event(proc, "RELEASING")
        read_event(proc, "RELEASED")
    finally:
        proc.kill()
        proc.communicate()
