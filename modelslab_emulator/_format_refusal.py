"""Scenarios ``refuse-json-schema`` / ``refuse-json-mode``: an upstream that refuses a format.

ModelsLab routes some models to providers that refuse a ``json_schema`` (or even a
``json_object``) ``response_format``; ModelsLab then wraps the upstream 400 as
``{"status":"error","message":"Provider returned error"}``, usually with HTTP 200. Requests
without the refused format are answered normally, so a client's retry in another mode works.
"""

from __future__ import annotations

from typing import Any

from ._errors import ApiError, error_body
from ._faults import PROVIDER_ERROR, Reply, json_reply
from ._scenarios import Scenarios
from ._sse import DONE, SseStyle

__all__ = ["REFUSALS", "format_refusal"]

#: scenario name -> the ``response_format.type`` values it refuses
REFUSALS = {
    "refuse-json-schema": frozenset({"json_schema"}),
    "refuse-json-mode": frozenset({"json_schema", "json_object"}),
}


def format_refusal(scenarios: Scenarios, body: Any, *, stream: bool) -> Reply | None:
    """The refusal for this request, or None when no active scenario refuses its format."""
    response_format = body.get("response_format") if isinstance(body, dict) else None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    name = next((n for n, kinds in REFUSALS.items() if scenarios.has(n) and kind in kinds), None)
    if name is None:
        return None
    status = int(scenarios.number(name, "status", 200))
    if status != 200 and not 400 <= status <= 599:
        raise ApiError(400, f"Emulator scenario {name}: status must be 200, 4xx or 5xx")
    message = scenarios.param(name, "message", PROVIDER_ERROR)
    error = error_body(message, status=status, shape=scenarios.error_shape)
    if status != 200 or not stream:
        return json_reply(status, error)
    # a stream request refused before the first token: the error is the only data event
    style = SseStyle.for_scenarios(scenarios)
    events = style.comment("OPENROUTER PROCESSING") + style.event(error) + style.event(DONE)
    return Reply(200, events, "text/event-stream")
