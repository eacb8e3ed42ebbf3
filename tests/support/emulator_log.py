"""The emulator's request log, as the transport and reliability tests read it: the chat requests
of one scenario, and those requests once the server has finished serving them."""

from __future__ import annotations

import time
from typing import Any


def chat_log(emulator: Any, value: str | None = None) -> list[Any]:
    """Chat requests the emulator logged; with `value`, only those of that scenario (a slow
    request of an earlier test may land late, so a test filters the log by its own)."""
    return [
        r
        for r in emulator.requests
        if r.path.split("?")[0].endswith("/chat/completions")
        and (value is None or r.scenario == value)
    ]


def chat_bodies(emulator: Any, value: str | None = None) -> list[Any]:
    """The bodies of `chat_log(emulator, value)`."""
    return [r.body for r in chat_log(emulator, value)]


def settled(emulator: Any, key: str, value: str, *, timeout: float = 30.0) -> list[Any]:
    """The chat requests of scenario `value`, once the server has finished every request of
    `key` and logged at least one. A request is logged when its reply starts and counted out of
    `in_flight` only after that, so a request that is still being served (a slow first byte,
    a resend) is waited for instead of being missed; `timeout` only guards against a hang."""
    fingerprint = emulator.fingerprint(key)
    deadline = time.monotonic() + timeout
    while True:
        logged = chat_log(emulator, value)
        if (logged and not emulator.in_flight.get(fingerprint)) or time.monotonic() > deadline:
            return logged
        time.sleep(0.01)
