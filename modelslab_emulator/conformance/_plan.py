"""A run's plan: every probe, model by model, then the shared and host probes, and what the
run can cost."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ._host import billed_tokens, host_probes
from ._probes import Probe, model_probes, shared_probes


@dataclass(frozen=True)
class Planned:
    """A probe bound to the model it runs for; ``name`` is unique within a run."""

    probe: Probe
    model: str
    shared: bool = False

    @property
    def name(self) -> str:
        return self.probe.name if self.shared else f"{self.probe.name}--{slug(self.model)}"


def plan(models: list[str]) -> list[Planned]:
    """Every probe of a run, in the order they are sent."""
    runs = [Planned(p, m) for m in models for p in model_probes(m)]
    shared = [*shared_probes(models[0]), *host_probes(models[0])]
    return [*runs, *(Planned(p, models[0], True) for p in shared)]


def slug(text: str) -> str:
    """``text`` reduced to a safe file-name part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def budget(planned: list[Planned]) -> tuple[int, int]:
    """(largest total completion tokens, rough total prompt tokens) the run can cost."""
    completion = sum(billed_tokens(p.probe) for p in planned)
    # about 4 characters per token; tools and schemas count as prompt on most back ends
    prompt = sum(len(json.dumps(p.probe.body)) // 4 for p in planned if p.probe.body)
    return completion, prompt
