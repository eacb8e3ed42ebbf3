"""Every error's `is_retryable` is the retry policy's verdict: what the clients retry is what
the error says may be retried (408 and 409 included), and what they never resend says no."""

from __future__ import annotations

import httpx
import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    APIConnectionError,
    APIStatusError,
    BadGatewayError,
    BadRequestError,
    ModelsLabClient,
    RateLimitError,
    ServerError,
)
from modelslab_transport._failures import error_from_transport  # the one httpx-error mapping
from tests.support.fault_runners import RUNNERS, expect, run
from tests.support.transport_calls import chat_requests, payload, scenario


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (APIStatusError("timeout", status_code=408), True),
        (APIStatusError("conflict", status_code=409), True),
        (RateLimitError("slow down", status_code=429), True),
        (RateLimitError("in a 200 body", status_code=200), True),
        (ServerError("down", status_code=503), True),
        (BadGatewayError("not JSON", status_code=200), True),
        (BadRequestError("bad", status_code=400), False),
        (APIStatusError("gone", status_code=410), False),
        (ServerError("error event, no status"), False),
    ],
)
def test_is_retryable_follows_the_status_policy(error: APIStatusError, retryable: bool) -> None:
    assert error.is_retryable is retryable


def test_should_retry_overrules_the_status() -> None:
    refused = ServerError("down", status_code=503)
    refused.should_retry = False
    allowed = BadRequestError("bad", status_code=400)
    allowed.should_retry = True
    assert (refused.is_retryable, allowed.is_retryable) == (False, True)


def test_a_read_timeout_after_sending_is_not_retryable_a_connect_failure_is() -> None:
    request = httpx.Request("POST", "https://example.invalid/")
    read = error_from_transport(httpx.ReadTimeout("slow", request=request), streaming=False)
    connect = error_from_transport(httpx.ConnectError("refused", request=request), streaming=False)
    assert isinstance(read, APIConnectionError) and read.is_retryable is False
    assert connect.is_retryable is True


def test_rebuilt_as_keeps_the_state_and_the_traceback() -> None:
    class Twin(RateLimitError):
        pass

    try:
        raise RateLimitError("slow down", status_code=429, body={"error": {}}, request_id="r1")
    except RateLimitError as caught:
        error = caught
    error.retry_after, error.partial_text, error.is_retryable = 3.0, "Par", False
    again = error.rebuilt_as(Twin)
    assert type(again) is Twin and str(again) == str(error)
    assert (again.message, again.status_code, again.body, again.request_id) == (
        "slow down",
        429,
        {"error": {}},
        "r1",
    )
    assert (again.retry_after, again.partial_text, again.is_retryable) == (3.0, "Par", False)
    assert again.__traceback__ is error.__traceback__ is not None


def test_is_retryable_can_be_set_on_an_error_built_by_hand() -> None:
    error = BadRequestError("bad", status_code=400)
    error.is_retryable = True
    assert error.is_retryable is True


@pytest.mark.parametrize("status", [408, 409])
@pytest.mark.parametrize("mode", RUNNERS)
def test_408_and_409_are_retried(mode: str, status: int, emulator: Emulator) -> None:
    headers = scenario("http-error", times=1, status=status)
    assert run(mode, emulator, headers) == "You said: fault test"
    assert [r.status for r in chat_requests(emulator, headers)] == [status, 200]


@pytest.mark.parametrize("status", [408, 409])
def test_408_and_409_say_retryable_when_the_retries_run_out(
    status: int, emulator: Emulator
) -> None:
    headers = scenario("http-error", times=-1, status=status)
    error = expect(APIStatusError, lambda: run("chat", emulator, headers, max_retries=1))
    assert error.status_code == status and error.is_retryable
    assert len(chat_requests(emulator, headers)) == 2


def test_a_400_says_not_retryable_and_is_sent_once(emulator: Emulator) -> None:
    headers = scenario("http-error", times=-1, status=400)
    with ModelsLabClient(api_key="sk-x", base_url=emulator.base_url, default_headers=headers) as c:
        error = expect(APIStatusError, lambda: c.chat(payload("fault test")), key="sk-x")
    assert not error.is_retryable
    assert len(chat_requests(emulator, headers)) == 1
