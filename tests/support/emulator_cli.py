"""The emulator's command line, run in a child process for the tests of its flags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelslab_emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def emulator_cli(*flags: str) -> Iterator[Emulator]:
    """`python -m modelslab_emulator --port 0 *flags` running; an Emulator that is not started
    and only lends its address to the test's calls to the CLI's server."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "modelslab_emulator", "--port", "0", *flags]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            yield Emulator(port=int(base_url.split(":")[2].split("/")[0]))
        finally:
            process.terminate()
            process.wait(timeout=10)
