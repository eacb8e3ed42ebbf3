"""Shared fixtures: one emulator per test session, its request log cleared for each test."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from modelslab_emulator import Emulator

# Tests must never pick up a developer's real key or endpoint by accident.
os.environ.pop("MODELSLAB_BASE_URL", None)
_REAL_KEY = os.environ.pop("MODELSLAB_API_KEY", None)

TEST_KEY = "test-key-0123456789"

# CI runs the property tests on a fixed seed, so a run is reproducible; locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def real_api_key() -> str:
    """The real ModelsLab key for tests marked `live`; skips when none is set."""
    if not _REAL_KEY:
        pytest.skip("MODELSLAB_API_KEY is not set")
    return _REAL_KEY


@pytest.fixture
def emulator(modelslab_emulator: Emulator) -> Emulator:
    """The session's emulator with an empty request log."""
    modelslab_emulator.clear()
    return modelslab_emulator


@pytest.fixture
def base_url(emulator: Emulator) -> str:
    return emulator.base_url
