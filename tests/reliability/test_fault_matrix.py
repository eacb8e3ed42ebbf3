"""Every emulator fault x both adapters x {sync, async} x {streaming, non-streaming}.

Each cell either returns exactly the answer the same call gives without the fault (nothing
repeated after a retry, nothing partial passed off as whole) or raises the right typed error
within its time bound; the emulator's log shows no more attempts than `max_retries` allows and
no retry once a stream has delivered its first event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.exceptions import ModelError

import modelslab_transport as mt
from modelslab_emulator import Emulator
from tests.support.adapter_modes import (
    ADAPTERS,
    MODES,
    Answer,
    call,
    chat_log,
    make,
    scenario,
    settled,
)

KEY = "sk-matrix-7f3a9c"
OTHER_KEY = "sk-matrix-the-only-valid-one"
PROMPT = "Matrix probe: alpha beta gamma delta epsilon"
TIMEOUT = mt.APITimeoutError  # the slow faults' error


@dataclass(frozen=True)
class Fault:
    """One emulator fault and what each kind of call must make of it."""

    name: str  # scenario name (or a pseudo-fault: invalid-key, unknown-model)
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # adapter options for this fault
    error: type[Exception] | tuple[type[Exception], ...] | None = None  # None: must succeed
    stream_error: type[Exception] | tuple[type[Exception], ...] | None = None
    attempts: int = 1
    stream_attempts: int | None = None
    statuses: tuple[int, ...] | None = None  # exact status sequence in the log, if known
    bound: float = 3.0  # seconds the faulty call may take at most
    partial: bool = False  # streams deliver some events before the failure
    settle: float = 0.0  # non-zero: the emulator logs this request only after this delay

    def expected(self, stream: bool) -> tuple[Any, int]:
        if stream:
            error = self.stream_error if self.stream_error is not None else self.error
            attempts = self.stream_attempts if self.stream_attempts is not None else self.attempts
            return error, attempts
        return self.error, self.attempts


FAULTS = [
    Fault(
        "rate-limit",
        {"times": 1, "retry_after": 0.05},
        attempts=2,
        statuses=(429, 200),
    ),
    Fault(
        "rate-limit",
        {"times": -1, "retry_after": 0.05},
        # Queue full is resent apart from max_retries, within queue_wait_budget (0.06 s: one).
        {"max_retries": 0, "queue_wait_budget": 0.06},
        error=mt.RateLimitError,
        attempts=2,
        statuses=(429, 429),
    ),
    Fault("server-error", {"times": 1, "status": 503}, attempts=2, statuses=(503, 200)),
    Fault(
        "server-error",
        {"times": -1, "status": 500},
        {"max_retries": 1},
        error=mt.ServerError,
        attempts=2,
        statuses=(500, 500),
    ),
    Fault("html-502", {"times": -1}, {"max_retries": 0}, error=mt.ServerError, statuses=(502,)),
    Fault("error-200", error=mt.ServerError, statuses=(200,)),
    # Stream-shaped faults: a non-streaming call is answered normally.
    Fault("error-mid-stream", stream_error=mt.ServerError, partial=True),
    Fault(
        "drop-mid-stream",
        {},
        {"max_retries": 1},
        # Half a JSON body: a broken connection, retried while nothing was delivered.
        error=mt.APIConnectionError,
        attempts=2,
        stream_error=(mt.APIConnectionError, mt.IncompleteStreamError),
        stream_attempts=1,
        partial=True,
    ),
    Fault("no-done"),  # finished but no [DONE]: complete
    Fault("truncated", stream_error=mt.IncompleteStreamError, partial=True),
    Fault(
        "slow-first-byte",
        {"delay": 0.6},
        {"timeout": 0.25},
        error=TIMEOUT,
        bound=1.0,
        settle=0.6,
    ),
    # Events 0.5 s apart: the 0.2 s idle limit ends a stream within 1 s; a plain call is answered.
    Fault("trickle", {"delay": 0.5}, {"stream_idle_timeout": 0.2}, bound=1.0, stream_error=TIMEOUT),
    Fault("redirect", error=mt.UnexpectedResponseError, statuses=(302,)),
    Fault("invalid-key", error=mt.AuthenticationError, statuses=(401,)),
    Fault("unknown-model", error=mt.NotFoundError, statuses=(404,)),
    Fault("insufficient-credits", error=mt.InsufficientCreditsError, statuses=(402,)),
]
FAULT_IDS = [
    f"{f.name}-{'forever' if f.params.get('times') == -1 else 'once'}"
    if f.name in ("rate-limit", "server-error")
    else f.name
    for f in FAULTS
]
CELLS = len(FAULTS) * len(ADAPTERS) * len(MODES)

_baselines: dict[tuple[str, str], Answer] = {}


@pytest.fixture(scope="module")
def locked_emulator() -> Iterator[Emulator]:
    """An emulator that accepts one other key only: ours gets a 401."""
    with Emulator(api_keys=[OTHER_KEY]) as emu:
        yield emu


def baseline(adapter: str, mode: str, base_url: str) -> Answer:
    """The same call without any fault (computed once per adapter and mode)."""
    if (adapter, mode) not in _baselines:
        llm = make(adapter, api_key=KEY, base_url=base_url)
        _baselines[adapter, mode] = call(adapter, mode, llm, PROMPT)
    return _baselines[adapter, mode]


# A cell still resending (a queue-full 429 whose waits are never counted) fails, not hangs.
@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_fault(
    fault: Fault, adapter: str, mode: str, emulator: Emulator, locked_emulator: Emulator
) -> None:
    stream = mode.endswith("stream")
    expected_error, expected_attempts = fault.expected(stream)
    server = locked_emulator if fault.name == "invalid-key" else emulator
    pseudo = fault.name in ("invalid-key", "unknown-model")
    # Pseudo-faults carry a harmless shaping scenario so their requests can be found in the log.
    value = scenario("extra-fields" if pseudo else fault.name, **fault.params)
    options: dict[str, Any] = {"api_key": KEY, "base_url": server.base_url, "scenario": value}
    options.update(fault.options)
    if fault.name == "unknown-model":
        options["model"] = "no-such-model-42"
    llm = make(adapter, **options)
    expected = baseline(adapter, mode, emulator.base_url)

    answer = Answer()
    started = time.monotonic()
    if expected_error is None:
        call(adapter, mode, llm, PROMPT, answer)
        elapsed = time.monotonic() - started
        assert (answer.text, answer.reasoning) == (expected.text, expected.reasoning)
        assert answer.text.startswith("You said: ") and answer.reasoning
        if stream:
            assert answer.pieces == expected.pieces  # no piece lost, repeated or reordered
            if answer.final_text is not None:
                assert answer.final_text == expected.text
    else:
        with pytest.raises(expected_error) as info:
            call(adapter, mode, llm, PROMPT, answer)
        elapsed = time.monotonic() - started
        error = info.value
        if adapter == "langchain":
            assert isinstance(error, ModelError)  # also langchain-core's standard error
        text = f"{error} {error!r} {error.args!r} {vars(error)!r}"
        assert KEY not in text and str(error) and "\n" not in str(error)
        if stream and fault.partial:
            # Some output arrived, then the failure: what arrived is a true prefix of the
            # answer, and the call raised rather than passing it off as the whole answer.
            assert answer.pieces
            assert expected.reasoning.startswith(answer.reasoning)
            assert expected.text.startswith(answer.text)
            assert (answer.text, answer.reasoning) != (expected.text, expected.reasoning)
        else:
            assert not answer.text
    assert elapsed < fault.bound, f"took {elapsed:.2f} s"

    # A slow request is logged only once it answers: wait for the server to finish them all.
    requests = settled(server, KEY, value) if fault.settle else chat_log(server, value)
    assert len(requests) == expected_attempts, [r.status for r in requests]
    if fault.statuses is not None:
        assert tuple(r.status for r in requests) == fault.statuses
    assert all(r.body.get("stream") is stream for r in requests)
