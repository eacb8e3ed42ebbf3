"""The demo (`python examples/demo.py`, run by `bash scripts/demo.sh`) passes offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modelslab_emulator import Emulator

ROOT = Path(__file__).resolve().parents[1]


def run_demo(**settings: str) -> subprocess.CompletedProcess[str]:
    """The demo in a child process, with no MODELSLAB_ setting but `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env.update(settings)
    return subprocess.run(
        [sys.executable, "examples/demo.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_demo_runs_offline_through_both_frameworks() -> None:
    result = run_demo()
    out = result.stdout
    assert result.returncode == 0, f"demo failed:\n{out}\n{result.stderr}"
    assert "MODELSLAB_API_KEY is not set: using the offline emulator" in out
    for framework in ("LangChain", "LlamaIndex"):
        assert f"== {framework}: streamed answer, reasoning apart" in out
        assert f"== {framework}: structured output" in out
    # reasoning is shown on its own line, apart from the answer
    assert out.count("thinking: The user wrote 8 words. I will answer plainly.") == 2
    assert out.count("answer  : You said: In one sentence, why is the sky blue?") == 2
    assert out.count("tool call: get_weather({'city': 'Lisbon'}) -> sunny, 21C in Lisbon") == 2
    assert out.count("Person(name='Ada', age=36)") == 2
    assert "Demo finished: all 6 steps passed." in out
    assert "<think>" not in out


def test_demo_exits_non_zero_when_a_step_fails() -> None:
    # An emulator that accepts another key: every step fails with a 401, which is not retried.
    with Emulator(api_keys=["the-accepted-key"]) as emulator:
        result = run_demo(MODELSLAB_API_KEY="not-a-real-key", MODELSLAB_BASE_URL=emulator.base_url)
    assert result.returncode == 1
    assert "MODELSLAB_API_KEY is set: using real ModelsLab." in result.stdout
    assert "Demo failed: 6 of 6 steps." in result.stderr
    assert "AuthenticationError" in result.stderr
    assert "not-a-real-key" not in result.stdout + result.stderr
