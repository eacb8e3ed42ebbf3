"""Helpers for transport tests against the emulator."""

from __future__ import annotations

import time
import uuid
from typing import Any

from modelslab_transport import build_chat_payload

MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"


def scenario(name: str, **params: Any) -> dict[str, str]:
    """An X-Emulator-Scenario header, unique per call so that counters start afresh."""
    parts = [name, *(f"{k}={v}" for k, v in params.items()), f"id={uuid.uuid4().hex[:8]}"]
    return {"X-Emulator-Scenario": ";".join(parts)}


def payload(text: str = "Hello there", model: str = LLAMA, **params: Any) -> dict[str, Any]:
    return build_chat_payload(model, [{"role": "user", "content": text}], **params)


def chat_requests(emulator: Any, headers: dict[str, str] | None = None) -> list[Any]:
    """Chat requests the emulator logged; with `headers`, only those of that scenario (a slow
    request of an earlier test may still land in the log)."""
    wanted = (headers or {}).get("X-Emulator-Scenario")
    return [
        r
        for r in emulator.requests
        if r.path.endswith("/chat/completions") and (headers is None or r.scenario == wanted)
    ]


def settled(emulator: Any, key: str, value: str, *, timeout: float = 30.0) -> list[Any]:
    """The chat requests of scenario `value`, once the server has finished every request of
    `key` and logged at least one. A request is logged when its reply starts and counted out of
    `in_flight` only after that, so a request that is still being served (a slow first byte,
    a resend) is waited for instead of being missed; `timeout` only guards against a hang."""
    fingerprint = emulator.fingerprint(key)
    deadline = time.monotonic() + timeout
    while True:
        logged = chat_requests(emulator, {"X-Emulator-Scenario": value})
        if (logged and not emulator.in_flight.get(fingerprint)) or time.monotonic() > deadline:
            return logged
        time.sleep(0.01)
