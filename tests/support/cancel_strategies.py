"""The two ways `modelslab_transport.limits._gates.cancel_raised` keeps a cancellation that
`asyncio.wait_for` drops (CPython gh-86296): counted (`Task.cancelling`, Python 3.11+) and
shielded (the waits run in a task of their own: Python 3.10's way, and usable on any Python,
so that both are tested on every Python that has them)."""

from __future__ import annotations

import sys

import pytest

from modelslab_transport.limits import _gates

STRATEGIES = [
    pytest.param(
        "counted",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 11), reason="Python 3.10 has no Task.cancelling()"
        ),
    ),
    "shielded",
]


def use_strategy(monkeypatch: pytest.MonkeyPatch, strategy: str) -> None:
    """Make `cancel_raised` keep cancellations the `strategy` way for this test."""
    monkeypatch.setattr(_gates, "_COUNTS_CANCELS", strategy == "counted")
