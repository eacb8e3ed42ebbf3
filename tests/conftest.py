"""Shared fixtures: one emulator per test session, its request log cleared for each test."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from modelslab_emulator import Emulator
from modelslab_transport import forget_host_limits
from modelslab_transport.limits import _gates
from tests.support.models import MakeChatModel, MakeLLM, build_chat_model, build_llm

if TYPE_CHECKING:
    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

# Tests must never pick up a developer's real key or endpoint by accident.
os.environ.pop("MODELSLAB_BASE_URL", None)
_REAL_KEY = os.environ.pop("MODELSLAB_API_KEY", None)

# The default limiter shares a key's slots with every process of this user on this machine,
# through files under $XDG_RUNTIME_DIR: this session (and the processes it starts, which inherit
# the variable) gets a private one, so two test runs on one machine, with the same test keys,
# never take each other's slots.
_RUNTIME_DIR = tempfile.mkdtemp(prefix="modelslab-tests-run-")
os.environ["XDG_RUNTIME_DIR"] = _RUNTIME_DIR
atexit.register(shutil.rmtree, _RUNTIME_DIR, ignore_errors=True)

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


@pytest.fixture(autouse=True)
def _fresh_host_limits() -> None:
    """Every test starts with no learned host limits: the session emulator's URL is shared."""
    forget_host_limits()


@pytest.fixture(
    params=[
        pytest.param(
            "counted",
            marks=pytest.mark.skipif(
                sys.version_info < (3, 11), reason="Python 3.10 has no Task.cancelling()"
            ),
        ),
        "shielded",
    ]
)
def cancel_strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How `limits._gates.cancel_raised` keeps a cancellation `asyncio.wait_for` drops (CPython
    gh-86296) in this test: counted (`Task.cancelling`, Python 3.11+) or shielded (each wait
    step in a task of its own: Python 3.10's way, usable on any Python), so that both are
    tested on every Python that has them."""
    strategy: str = request.param
    monkeypatch.setattr(_gates, "_COUNTS_CANCELS", strategy == "counted")
    return strategy


@pytest.fixture
def emulator(modelslab_emulator: Emulator) -> Emulator:
    """The session's emulator with an empty request log."""
    modelslab_emulator.clear()
    return modelslab_emulator


@pytest.fixture
def base_url(emulator: Emulator) -> str:
    return emulator.base_url


@pytest.fixture
def chat_model_defaults() -> dict[str, Any]:
    """Keywords `make_chat_model` passes unless a call does: a test file overrides this fixture
    to give its models a key of its own (limits and learned values are shared per key)."""
    return {}


@pytest.fixture
def make_chat_model(base_url: str, chat_model_defaults: dict[str, Any]) -> Iterator[MakeChatModel]:
    """Build ChatModelsLabs against the emulator, closed after the test; `scenario=` (made
    unique) sets X-Emulator-Scenario."""
    made: list[ChatModelsLab] = []

    def make(scenario: str | None = None, **kwargs: Any) -> ChatModelsLab:
        model = build_chat_model(base_url, scenario, **{**chat_model_defaults, **kwargs})
        made.append(model)
        return model

    yield make
    for model in made:
        model.close()


@pytest.fixture
def make_llm(base_url: str) -> Iterator[MakeLLM]:
    """Build ModelsLabLLMs against the emulator, closed after the test; `scenario=` sets
    X-Emulator-Scenario (as given)."""
    made: list[ModelsLabLLM] = []

    def make(scenario: str | None = None, **kwargs: Any) -> ModelsLabLLM:
        llm = build_llm(base_url, scenario, **kwargs)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()


# -- skips: the run fails when a test skips for a reason not listed here --------------------------
# A missing dependency, a broken fixture or a new langchain-tests release must not turn tests into
# quiet skips. Each entry: (the reason's start, which tests may skip for it: a test file or
# "marker:NAME", why that is fine).
ALLOWED_SKIPS: tuple[tuple[str, str, str], ...] = (
    ("MODELSLAB_API_KEY is not set", "marker:live", "live tests need a real key"),
    (
        "Model does not support ",
        "tests/langchain/test_standard.py",
        "media the model does not take",
    ),
    (
        "Model does not explicitly support Anthropic inputs",
        "tests/langchain/test_standard.py",
        "Anthropic-format media blocks: media the model does not take",
    ),
    (
        "Python 3.10 has no Task.cancelling()",
        "tests/transport/test_limits.py",
        "counting cancellations needs 3.11; 3.10 runs the same tests the shielded way",
    ),
    (
        "Python 3.10 has no Task.cancelling()",
        "tests/scale/test_redis_limiter_waiting.py",
        "counting cancellations needs 3.11; 3.10 runs the same tests the shielded way",
    ),
    (
        "VCR not set up",
        "tests/langchain/test_standard.py",
        "langchain-tests' cassette benchmark; these tests run against the emulator instead",
    ),
)
_UNEXPECTED_SKIPS: list[str] = []


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _note_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    path = report.nodeid.split("::", 1)[0]
    keywords = getattr(report, "keywords", {})

    def applies(where: str) -> bool:
        return where == path or (where.startswith("marker:") and where[7:] in keywords)

    if not any(reason.startswith(start) and applies(where) for start, where, _ in ALLOWED_SKIPS):
        _UNEXPECTED_SKIPS.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _UNEXPECTED_SKIPS and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _UNEXPECTED_SKIPS:
        terminalreporter.section("unexpected skips (the run fails)", red=True)
        for line in _UNEXPECTED_SKIPS:
            terminalreporter.line(line)
        terminalreporter.line("Allowed reasons are listed in tests/conftest.py (ALLOWED_SKIPS).")
