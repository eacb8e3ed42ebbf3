"""Conformance run: hold the emulator to what a real ModelsLab endpoint answers.

``python -m modelslab_emulator.conformance`` sends a small fixed set of probes (see
``_probes``) to a target endpoint and the same probes to a bundled emulator, records every
exchange with the API key redacted (``OUT/recorded/*.json`` from the target,
``OUT/emulator/*.json`` from the emulator) and writes ``OUT/report.md`` listing every
difference in shape. ``--recordings DIR`` instead holds the emulator to recordings already
made, offline. Exit status 0 = no differences, 1 = differences, 2 = usage/setup error.
See ``docs/conformance.md``.
"""

from __future__ import annotations

from ._cli import main
from ._plan import plan
from ._probes import Probe
from ._recording import load_fixture
from ._shape import Shape, shape_of

__all__ = ["Probe", "Shape", "load_fixture", "main", "plan", "shape_of"]
