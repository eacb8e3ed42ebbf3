"""The upstream behaviours of issue 10 as the cases the transport and both adapters' tests run:
one list of mid-stream error scenarios, one of documented ranges, the queued and stalled
stream timings, and the way a test reads back the statuses its own scenario got."""

from __future__ import annotations

from typing import Any

import modelslab_transport as mt
from modelslab_emulator import Emulator
from tests.support import scenarios

TEXT = "one two three four five six"
ANSWER = f"You said: {TEXT}"

# The errors a stream can end in after three content chunks (word tokens).
MID_STREAM_ERRORS = [
    "finish-error;after=3",
    "object-error-mid-stream;after=3;done=1",
    "object-error-mid-stream;after=3;done=0",
    "openrouter-error-mid-stream;after=3",
]

# (values out of the documented range, the words of the documented range)
OUT_OF_RANGE: list[tuple[dict[str, Any], str]] = [
    ({"top_k": 0}, "at least 1"),
    ({"top_k": -1}, "at least 1"),
    ({"repetition_penalty": 0.05}, "between 0.1 and 2"),
    ({"repetition_penalty": 2.5}, "between 0.1 and 2"),
]

# (scenario, settings): a queued stream that sends only keep-alive comments for 0.9 s, longer
# than its idle timeout: the wait for the first byte is not idleness.
QUEUED: tuple[str, dict[str, Any]] = (
    "comment-keepalive;count=3;delay=0.3",
    {"stream_idle_timeout": 0.2, "first_byte_timeout": 5},
)
# Nothing at all before first_byte_timeout.
SILENT: tuple[str, dict[str, Any]] = (
    "comment-keepalive;count=0;delay=1.5",
    {"first_byte_timeout": 0.3, "max_retries": 0},
)
# Started, then a gap between chunks longer than stream_idle_timeout.
STALLED: tuple[str, dict[str, Any]] = (
    "trickle;delay=0.6",
    {"stream_idle_timeout": 0.25, "first_byte_timeout": 5},
)


def unique(scenario: str | None) -> str | None:
    """The scenario with an id of its own: the emulator counts `times=` per exact value."""
    return scenarios.unique(scenario) if scenario else None


def statuses(emulator: Emulator, llm: Any) -> list[int]:
    """The statuses the emulator sent for this model's own scenario header."""
    wanted = (llm.default_headers or {})["X-Emulator-Scenario"]
    return [r.status for r in emulator.requests if r.scenario == wanted]


def check_mid_stream_error(error: BaseException, key: str) -> None:
    """A stream that ended in an error after three content chunks: a ServerError that keeps
    the text that came (never passed off as an answer) and shows no key."""
    assert isinstance(error, mt.ServerError)
    assert error.partial_text == "You said: one "
    assert key not in repr(vars(error))
