"""Every Python block of docs/llama_index.md runs as written against the emulator and
prints what it claims to show (its claim is in ``tests/doc_claims.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from llama_index.core import Settings

from tests.doc_claims import check_output

DOC = Path(__file__).resolve().parents[2] / "docs" / "llama_index.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_doc_block_runs(
    code: str, base_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSLAB_BASE_URL", base_url)
    monkeypatch.setenv("MODELSLAB_API_KEY", "doc-example-key")
    # Examples may set the global Settings.llm; restore it for the rest of the session.
    monkeypatch.setattr(Settings, "_llm", Settings._llm)
    exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
    check_output(code, capsys.readouterr().out)  # it printed what it claims to show
