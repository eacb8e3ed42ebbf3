"""X-Emulator-Scenario values, each unique per call: the emulator counts a scenario's `times=`
and logs its requests per exact header value, so a value of its own starts afresh and finds its
own requests. The one id scheme of the tests (stdlib only: the emulator tests use it too)."""

from __future__ import annotations

import uuid
from typing import Any

SCENARIO_HEADER = "X-Emulator-Scenario"


def unique(value: str) -> str:
    """`value` (one scenario or several, comma-separated) with an id of its own (`id=` is
    ignored by the emulator)."""
    return f"{value};id={uuid.uuid4().hex[:12]}"


def scenario(name: str, **params: Any) -> str:
    """A unique scenario value: `scenario("rate-limit", times=2)` -> `rate-limit;times=2;id=…`."""
    return unique(";".join([name, *(f"{k}={v}" for k, v in params.items())]))


def scenario_header(name: str, **params: Any) -> dict[str, str]:
    """The X-Emulator-Scenario header of `scenario(name, **params)`."""
    return {SCENARIO_HEADER: scenario(name, **params)}
