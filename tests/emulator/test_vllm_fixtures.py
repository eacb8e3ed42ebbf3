"""The vLLM-profile wire fixtures are what the emulator answers (ids and timestamps aside):
a change to the profile must come with re-made fixtures (``python -m tests.emulator.vllm_fixtures``).
The transport's reading of them is checked by tests/transport/test_wire_fixtures.py."""

from __future__ import annotations

import json

import pytest

from modelslab_emulator import Emulator

from .vllm_fixtures import CASES, FOLDER, answer, request_body, stable


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fixture_is_the_emulators_answer(emu: Emulator, name: str) -> None:
    fixture = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    assert fixture["request"]["body"] == request_body(name)
    status, content_type, text = answer(emu, name)
    recorded = fixture["response"]
    assert (status, content_type) == (recorded["status"], recorded["headers"]["content-type"])
    assert stable(text) == stable(recorded["body"])


def test_every_fixture_file_has_a_case() -> None:
    assert sorted(p.stem for p in FOLDER.glob("*.json")) == sorted(CASES)
