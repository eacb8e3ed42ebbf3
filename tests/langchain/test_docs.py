"""Every Python block of docs/langchain.md runs as written against the emulator and
prints what it claims to show (its claim is in ``tests/doc_claims.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelslab_emulator import Emulator
from tests.doc_claims import check_output

DOC = Path(__file__).resolve().parents[2] / "docs" / "langchain.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 8


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
    check_output(code, capsys.readouterr().out)  # it printed what it claims to show
