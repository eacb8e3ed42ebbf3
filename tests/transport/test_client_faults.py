"""Every emulator fault ends in success after retries or in its typed error, key-free."""

from __future__ import annotations

import time

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InsufficientCreditsError,
    ModelsLabClient,
    ModelsLabError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TextDelta,
    UnexpectedResponseError,
)
from tests.support.fault_runners import KEY, RUNNERS, expect, run
from tests.support.transport_calls import (
    chat_requests,
    payload,
    scenario,
    settled,
)


@pytest.mark.parametrize("mode", RUNNERS)
def test_rate_limit_then_success(mode: str, emulator: Emulator) -> None:
    headers = scenario("rate-limit", times=2, retry_after=0.05)
    assert run(mode, emulator, headers) == "You said: fault test"
    assert [r.status for r in chat_requests(emulator, headers)] == [429, 429, 200]


@pytest.mark.timeout(30)  # resending past the budget would go on forever: a failure, not a hang
@pytest.mark.parametrize("mode", RUNNERS)
def test_rate_limit_forever_raises_with_retry_after(mode: str, emulator: Emulator) -> None:
    # "Queue full" was never run: resent past max_retries=0 until queue_wait_budget is spent.
    headers = scenario("rate-limit", times=-1, retry_after=0.05)
    error = expect(
        RateLimitError,
        lambda: run(mode, emulator, headers, max_retries=0, queue_wait_budget=0.12),
    )
    assert isinstance(error, RateLimitError) and error.retry_after == pytest.approx(0.05)
    assert error.status_code == 429 and error.queue_full and error.queue_limit == 5
    assert len(chat_requests(emulator, headers)) == 3


def test_rate_limit_longer_than_max_wait_raises_at_once(emulator: Emulator) -> None:
    headers = scenario("rate-limit", times=-1, retry_after=120)
    started = time.monotonic()
    expect(RateLimitError, lambda: run("chat", emulator, headers))
    assert time.monotonic() - started < 5
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("mode", RUNNERS)
def test_server_error_then_success(mode: str, emulator: Emulator) -> None:
    headers = scenario("server-error", times=1, status=503)
    assert run(mode, emulator, headers) == "You said: fault test"
    assert [r.status for r in chat_requests(emulator, headers)] == [503, 200]


@pytest.mark.parametrize("mode", RUNNERS)
def test_server_error_forever_is_retried_max_retries_times(mode: str, emulator: Emulator) -> None:
    headers = scenario("server-error", times=-1, status=500)
    expect(ServerError, lambda: run(mode, emulator, headers, max_retries=2))
    assert len(chat_requests(emulator, headers)) == 3


@pytest.mark.parametrize("mode", RUNNERS)
def test_html_502_is_readable(mode: str, emulator: Emulator) -> None:
    headers = scenario("html-502", times=-1)
    error = expect(ServerError, lambda: run(mode, emulator, headers, max_retries=0))
    assert error.status_code == 502
    assert "<" not in str(error) and "502" in str(error)


@pytest.mark.parametrize("mode", RUNNERS)
def test_error_with_http_200(mode: str, emulator: Emulator) -> None:
    error = expect(ServerError, lambda: run(mode, emulator, scenario("error-200")))
    assert "Provider returned error" in str(error)


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_error_event_mid_stream_is_raised_not_retried(mode: str, emulator: Emulator) -> None:
    headers = scenario("error-mid-stream")
    error = expect(ServerError, lambda: run(mode, emulator, headers))
    assert "Provider returned error" in str(error)
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_connection_dropped_mid_stream(mode: str, emulator: Emulator) -> None:
    headers = scenario("drop-mid-stream")
    with pytest.raises((APIConnectionError, IncompleteStreamError)) as info:
        run(mode, emulator, headers)
    assert KEY not in str(info.value)
    assert len(chat_requests(emulator, headers)) == 1  # never retried after events were delivered


def test_partial_output_is_never_passed_off_as_complete(emulator: Emulator) -> None:
    seen: list[str] = []
    with (
        ModelsLabClient(
            api_key=KEY, base_url=emulator.base_url, default_headers=scenario("truncated")
        ) as client,
        pytest.raises(IncompleteStreamError),
    ):
        for event in client.stream_chat(payload("a b c d e f")):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert seen  # some text arrived before the error


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_stream_without_done_but_finished_is_complete(mode: str, emulator: Emulator) -> None:
    assert run(mode, emulator, scenario("no-done")) == "You said: fault test"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_truncated_stream_is_incomplete(mode: str, emulator: Emulator) -> None:
    expect(IncompleteStreamError, lambda: run(mode, emulator, scenario("truncated")))


@pytest.mark.parametrize("mode", RUNNERS)
def test_slow_first_byte_times_out_without_resending(mode: str, emulator: Emulator) -> None:
    headers = scenario("slow-first-byte", delay=1)
    key = f"sk-slow-first-byte-{mode}"  # its own key: its in-flight count is this test's alone
    started = time.monotonic()
    expect(APITimeoutError, lambda: run(mode, emulator, headers, timeout=0.3, api_key=key), key=key)
    assert time.monotonic() - started < 0.9
    logged = settled(emulator, key, headers["X-Emulator-Scenario"])
    assert len(logged) == 1  # a sent request may be billed: not resent


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_trickle_past_the_idle_timeout(mode: str, emulator: Emulator) -> None:
    headers = scenario("trickle", delay=0.6)
    expect(APITimeoutError, lambda: run(mode, emulator, headers, stream_idle_timeout=0.25))


@pytest.mark.parametrize("mode", RUNNERS)
def test_redirect_is_not_followed(mode: str, emulator: Emulator) -> None:
    headers = scenario("redirect")
    error = expect(UnexpectedResponseError, lambda: run(mode, emulator, headers))
    assert "redirect" in str(error).lower()
    assert len([r for r in emulator.requests if r.scenario == headers["X-Emulator-Scenario"]]) == 1


@pytest.mark.parametrize(
    ("name", "error_type"),
    [
        ("insufficient-credits", InsufficientCreditsError),
        ("forbidden", PermissionDeniedError),
        ("processing", UnexpectedResponseError),
    ],
)
@pytest.mark.parametrize("mode", RUNNERS)
def test_account_errors(
    mode: str, name: str, error_type: type[ModelsLabError], emulator: Emulator
) -> None:
    headers = scenario(name)
    expect(error_type, lambda: run(mode, emulator, headers))
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("mode", RUNNERS)
def test_unknown_model(mode: str, emulator: Emulator) -> None:
    body = payload("x", model="no-such-model-42")
    headers = scenario("extra-fields")
    error = expect(NotFoundError, lambda: run(mode, emulator, headers, body=body))
    assert "no-such-model-42" in str(error)
    assert len(chat_requests(emulator, headers)) == 1


@pytest.mark.parametrize("mode", RUNNERS)
def test_invalid_key_is_refused_and_never_echoed(mode: str) -> None:
    bad = "sk-wrong-key-e41c77"
    with Emulator(api_keys=["sk-the-right-one"]) as emulator:
        expect(AuthenticationError, lambda: run(mode, emulator, {}, api_key=bad), key=bad)
        assert len(chat_requests(emulator)) == 1
