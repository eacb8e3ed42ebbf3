"""Pytest plugin: a session-scoped ``modelslab_emulator`` fixture (a started ``Emulator``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._emulator import Emulator


@pytest.fixture(scope="session")
def modelslab_emulator() -> Iterator[Emulator]:
    """A running emulator on a free loopback port, shared by the whole test session."""
    with Emulator() as emulator:
        yield emulator
