"""Helpers for transport tests against the emulator."""

from __future__ import annotations

from typing import Any

from modelslab_transport import build_chat_payload

from ..emulator_requests import chat_log, scenario_value, settled

__all__ = ["LLAMA", "MAGISTRAL", "chat_requests", "payload", "scenario", "settled"]

MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"


def scenario(name: str, **params: Any) -> dict[str, str]:
    """An X-Emulator-Scenario header, unique per call so that counters start afresh."""
    return {"X-Emulator-Scenario": scenario_value(name, **params)}


def payload(text: str = "Hello there", model: str = LLAMA, **params: Any) -> dict[str, Any]:
    return build_chat_payload(model, [{"role": "user", "content": text}], **params)


def chat_requests(emulator: Any, headers: dict[str, str] | None = None) -> list[Any]:
    """Chat requests the emulator logged; with `headers`, only those of that scenario."""
    if headers is None:
        return chat_log(emulator)
    return chat_log(emulator, headers["X-Emulator-Scenario"])
