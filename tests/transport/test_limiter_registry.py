"""The one registry of limiter gates and the per-loop helper: a gate is built once per kind and
key, a builder that fails registers nothing (the machine-local limiter retries on the next
client), and each event loop gets its own value, dropped once its loop is closed."""

from __future__ import annotations

import asyncio

import pytest

from modelslab_transport.limits import slots_for_key
from modelslab_transport.limits._gates import LoopGate, PerLoop
from modelslab_transport.limits._registry import gates_of, one_per


def test_a_gate_is_built_once_per_kind_and_key() -> None:
    built: list[str] = []

    def build() -> list[str]:
        built.append("x")
        return built

    assert one_per(("test-kind", "k1"), build) is one_per(("test-kind", "k1"), build)
    assert built == ["x"]
    assert one_per(("other-kind", "k1"), lambda: ["y"]) == ["y"]  # kinds never collide
    assert slots_for_key("registry-key") in gates_of(type(slots_for_key("registry-key")))


def test_a_failing_builder_registers_nothing() -> None:
    def broken() -> object:
        raise OSError("no slot file here")

    with pytest.raises(OSError, match="no slot file"):
        one_per(("test-kind", "broken"), broken)
    assert one_per(("test-kind", "broken"), lambda: "second try") == "second try"


def test_each_loop_gets_its_own_value_and_a_closed_loop_drops_it() -> None:
    gates = PerLoop(LoopGate)

    async def mine() -> tuple[LoopGate, LoopGate]:
        return gates.get(), gates.get()

    first, again = asyncio.run(mine())
    assert first is again
    second, _ = asyncio.run(mine())  # a new loop: a new gate, the closed loop's is gone
    assert second is not first
    assert first not in gates.values()
    with pytest.raises(RuntimeError):
        gates.get()  # outside a running loop there is no loop to key by
