"""The client obeys the server's retry advice: it waits as long as a short hint asks (measured
at the server, between the refused request and its retry), and `x-should-retry` overrides the
status code's own verdict."""

from __future__ import annotations

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import BadRequestError, ClientSettings, RateLimitError, ServerError
from modelslab_transport._retry import retry_delay  # the policy itself, unit-tested
from tests.support.fault_runners import RUNNERS, expect, run
from tests.support.transport_calls import chat_requests, scenario

# Longer than the first backoff (at most 0.5 s), so a client that drops the hint and backs off
# instead retries too early as surely as one that retries at once.
HINT = 0.8
HINTS = {
    "retry-after": {"retry_after": HINT},
    "retry-after-ms": {"retry_after": 0.01, "retry_after_ms": int(HINT * 1000)},  # ms wins
    "body-retry_after": {"retry_after": HINT, "header": 0},  # no header: the body's hint
}


@pytest.mark.parametrize("hint", list(HINTS))
@pytest.mark.parametrize("mode", RUNNERS)
def test_a_short_hint_is_waited_for(mode: str, hint: str, emulator: Emulator) -> None:
    headers = scenario("rate-limit", times=1, **HINTS[hint])
    assert run(mode, emulator, headers) == "You said: fault test"
    refused, retried = chat_requests(emulator, headers)
    assert (refused.status, retried.status) == (429, 200)
    # Both times are the server's arrival times: the retry cannot arrive before the client
    # waited the whole hint after the refusal reached it.
    assert retried.received_at - refused.received_at >= HINT


@pytest.mark.parametrize("mode", RUNNERS)
def test_should_retry_false_stops_a_retryable_status(mode: str, emulator: Emulator) -> None:
    headers = scenario("server-error", times=-1, status=503, should_retry="false")
    expect(ServerError, lambda: run(mode, emulator, headers, max_retries=2))
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("mode", RUNNERS)
def test_should_retry_true_on_a_retryable_status_is_retried(mode: str, emulator: Emulator) -> None:
    headers = scenario("server-error", times=1, status=500, should_retry="true")
    assert run(mode, emulator, headers) == "You said: fault test"
    assert [r.status for r in chat_requests(emulator, headers)] == [500, 200]


def _settings(max_wait: float = 60) -> ClientSettings:
    return ClientSettings.from_kwargs(api_key="sk-x", max_retries=2, max_retry_wait=max_wait)


def test_should_retry_header_decides_for_any_status() -> None:
    error = BadRequestError("bad", status_code=400)
    assert retry_delay(error, 0, _settings()) is None
    error.should_retry = True  # what check_answer reads from `x-should-retry: true`
    retried = retry_delay(error, 0, _settings())
    assert retried is not None and 0 < retried <= 0.5
    server = ServerError("down", status_code=503)
    assert retry_delay(server, 0, _settings()) is not None
    server.should_retry = False
    assert retry_delay(server, 0, _settings()) is None


def test_a_hint_is_used_as_the_delay_and_a_long_one_is_not_waited() -> None:
    error = RateLimitError("slow down", status_code=429, retry_after=0.7)
    assert retry_delay(error, 0, _settings()) == 0.7
    error.retry_after = 1.25
    assert retry_delay(error, 0, _settings()) == 1.25
    error.retry_after = 5
    assert retry_delay(error, 0, _settings(max_wait=1.0)) is None
