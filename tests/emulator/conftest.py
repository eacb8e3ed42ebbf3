from __future__ import annotations

import pytest

from modelslab_emulator import Emulator


@pytest.fixture
def emu(modelslab_emulator: Emulator) -> Emulator:
    """The session emulator (from the package's pytest plugin)."""
    return modelslab_emulator
