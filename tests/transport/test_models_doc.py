"""docs/models.md states the catalogue's figures and defaults: its table is checked here."""

from __future__ import annotations

from pathlib import Path

import modelslab_transport as mt

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "models.md"
START = "<!-- catalogue table: checked by tests/transport/test_models_doc.py -->"
END = "<!-- end of catalogue table -->"
HI = [{"role": "user", "content": "Hi"}]


def _number(value: int) -> str:
    return f"{value:,}"


def render_table() -> str:
    """The table as the catalogue says it; paste it between the markers when the test fails."""
    rows = [
        "| Model id (other spelling) | Context window | Served context | Most output "
        "| `max_tokens` sent for a short prompt | Reasoning | Tools | Images | Sampling defaults |",
        "|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for info in mt.MODELS:
        names = f"`{info.id}`" + "".join(f" (`{alias}`)" for alias in info.aliases)
        served = _number(info.served_context) if info.served_context else "whole window"
        sampling = ", ".join(f"{k} {v:g}" for k, v in info.sampling.items())
        if not info.takes_sampling:
            sampling = "none (refuses sampling parameters)"
        rows.append(
            f"| {names} | {_number(info.context_window)} | {served} "
            f"| {_number(info.max_output_tokens)} "
            f"| {_number(mt.default_max_tokens(info.id, HI))} | {info.reasoning} "
            f"| {'yes' if info.tools else 'no'} | {'yes' if info.images else 'no'} "
            f"| {sampling or '—'} |"
        )
    return "\n".join(rows)


def test_the_table_matches_the_catalogue() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == render_table(), "docs/models.md is out of date; expected:\n" + render_table()


def test_the_doc_states_the_rules_with_the_catalogues_figures() -> None:
    text = DOC.read_text(encoding="utf-8")
    for figure in (mt.UNKNOWN_MODEL_MAX_TOKENS, mt.PROMPT_MARGIN, mt.MAX_TOKENS_FLOOR):
        assert f"{figure:,}" in text or str(figure) in text
    assert "retr" in text and "once" in text


def test_the_other_docs_link_here() -> None:
    for name in ("docs/langchain.md", "docs/llama_index.md", "README.md"):
        assert "models.md" in (ROOT / name).read_text(encoding="utf-8"), name
