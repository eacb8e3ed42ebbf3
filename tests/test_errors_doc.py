"""Every Python block of docs/errors-and-retries.md runs as written against the emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelslab_emulator import Emulator

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors-and-retries.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_doc_block_runs(
    code: str,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MODELSLAB_BASE_URL", emulator.base_url)
    monkeypatch.setenv("MODELSLAB_API_KEY", "docs-key-0123")
    exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip()
