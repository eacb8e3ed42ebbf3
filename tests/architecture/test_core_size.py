"""The thin core (issue 22): the top-level transport modules stay small and export few names."""

from __future__ import annotations

from tests.architecture.import_graph import ROOT

CORE_LINES = 3_800
PUBLIC_NAMES = 60


def core_lines() -> dict[str, int]:
    return {
        path.name: len(path.read_text().splitlines())
        for path in sorted((ROOT / "modelslab_transport").glob("*.py"))
    }


def exported_names() -> list[str]:
    import modelslab_transport

    return list(modelslab_transport.__all__)


def test_core_is_thin() -> None:
    lines = core_lines()
    assert sum(lines.values()) <= CORE_LINES, lines


def test_public_api_is_small() -> None:
    assert len(exported_names()) <= PUBLIC_NAMES


def test_all_lists_importable_names() -> None:
    import modelslab_transport

    names = exported_names()
    assert len(names) == len(set(names))
    assert [n for n in names if not hasattr(modelslab_transport, n)] == []
