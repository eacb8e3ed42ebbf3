"""Error bodies: both shapes at any status, HTML pages, retry hints, the key scrubbed."""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelslab_transport as mt
from modelslab_transport._failures import (
    error_from_payload,
    error_from_response,
    parse_retry_after,
)
from tests.support.wire_bytes import json_values

KEY = "sk-secret-KEY-123456"


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> mt.ModelsLabError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_from_response(status, raw, headers or {}, secret=KEY)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, mt.BadRequestError),
        (401, mt.AuthenticationError),
        (402, mt.InsufficientCreditsError),
        (403, mt.PermissionDeniedError),
        (404, mt.NotFoundError),
        (409, mt.APIStatusError),
        (422, mt.BadRequestError),
        (429, mt.RateLimitError),
        (500, mt.ServerError),
        (503, mt.ServerError),
    ],
)
def test_class_by_http_status(status: int, cls: type[mt.ModelsLabError]) -> None:
    error = response(status, {"status": "error", "message": "boom"})
    assert type(error) is cls
    assert error.status_code == status
    assert str(error) == f"boom (HTTP {status})"


def test_openai_shape() -> None:
    body = {"error": {"message": "Invalid API key", "type": "authentication_error", "code": "401"}}
    error = error_from_payload(body, status=None, secret=KEY)
    assert isinstance(error, mt.AuthenticationError)
    assert error.message == "Invalid API key"
    assert error.body == body


def test_openai_shape_with_plain_string_error() -> None:
    error = error_from_payload({"error": "Model not found: foo"}, status=None, secret=KEY)
    assert isinstance(error, mt.NotFoundError)


def test_openrouter_metadata_raw_is_kept() -> None:
    body = {"error": {"message": "Provider returned error", "code": 502, "metadata": {"raw": "x"}}}
    error = error_from_payload(body, status=None, secret=None)
    assert isinstance(error, mt.ServerError)
    assert error.message == "Provider returned error: x"


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"status": "error", "message": "Provider returned error"}, mt.ServerError),
        ({"status": "error", "message": "Invalid API key"}, mt.AuthenticationError),
        ({"status": "error", "messege": "Incorrect api key provided"}, mt.AuthenticationError),
        (
            {"status": "error", "message": "Insufficient credits. Please add more credits."},
            mt.InsufficientCreditsError,
        ),
        (
            {"status": "error", "message": "Rate limit exceeded.", "retry_after": 30},
            mt.RateLimitError,
        ),
        ({"status": "failed", "message": "Model not found: foo"}, mt.NotFoundError),
        ({"status": "error", "message": "The model `x` does not exist"}, mt.NotFoundError),
        ({"status": "error", "message": "whatever", "code": 403}, mt.PermissionDeniedError),
        ({"error": {"message": "nope", "type": "invalid_request_error"}}, mt.BadRequestError),
        (
            {"status": "error", "message": "This model's maximum context length is 40960 tokens"},
            mt.ContextLengthExceededError,
        ),
    ],
)
def test_classified_by_message_or_code_at_http_200(
    body: dict[str, Any], cls: type[mt.ModelsLabError]
) -> None:
    error = error_from_payload(body, status=200, secret=KEY)
    assert type(error) is cls
    assert error is not None
    assert error.status_code == 200


def test_rate_limit_in_body_carries_retry_after() -> None:
    error = error_from_payload(
        {"status": "error", "message": "Rate limit exceeded", "retry_after": 30},
        status=None,
        secret=None,
    )
    assert isinstance(error, mt.RateLimitError)
    assert error.retry_after == 30
    error = response(429, {"status": "error", "message": "slow down"}, {"Retry-After": "7"})
    assert isinstance(error, mt.RateLimitError)
    assert error.retry_after == 7


@pytest.mark.parametrize("status", [400, 413, 422, None])
def test_context_length_errors(status: int | None) -> None:
    body = {"error": {"message": "prompt is too long: 50000 tokens > 40960 maximum"}}
    error = error_from_payload(body, status=status, secret=None)
    assert isinstance(error, mt.ContextLengthExceededError)
    assert isinstance(error, mt.BadRequestError)


def test_context_message_with_server_error_status_stays_server_error() -> None:
    body = {"status": "error", "message": "context window exceeded"}
    assert isinstance(error_from_payload(body, status=500, secret=None), mt.ServerError)


@pytest.mark.parametrize(
    "message",
    [["field a is required", "field b is bad"], {"model_id": ["is required"], "messages": "bad"}],
)
def test_structured_messages_render_readably(message: object) -> None:
    error = error_from_payload({"status": "error", "message": message}, status=422, secret=None)
    assert isinstance(error, mt.BadRequestError)
    assert "\n" not in str(error)
    assert "[" not in error.message
    assert "required" in error.message


def test_queued_reply_is_a_typed_unexpected_response() -> None:
    body = {"status": "processing", "eta": 12, "id": 9876, "fetch_result": "https://x/fetch/9876"}
    error = error_from_payload(body, status=200, secret=None)
    assert isinstance(error, mt.UnexpectedResponseError)
    assert "queued" in error.message
    assert "eta 12" in error.message
    assert "9876" in error.message


@pytest.mark.parametrize(
    "body",
    [
        {"id": "x", "choices": []},
        {"status": "success", "output": []},
        {"error": None, "choices": []},
        {"error": {}, "choices": []},
        {"error": "", "status": "success"},
        [1, 2],
        "text",
        None,
        42,
    ],
)
def test_non_errors_give_none(body: object) -> None:
    assert error_from_payload(body, status=200, secret=None) is None


def test_secret_is_scrubbed_everywhere() -> None:
    body = {"error": {"message": f"Invalid API key {KEY}", "param": KEY}, "key": KEY}
    error = response(401, body)
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert KEY not in json.dumps(error.body)
    assert "[REDACTED]" in error.message
    error = response(502, f"<html><title>bad {KEY}</title></html>".encode())
    assert KEY not in str(error)
    assert KEY not in str(error.body)
    error = response(500, f"oops {KEY}".encode())
    assert KEY not in str(error)


def test_html_proxy_page() -> None:
    page = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        b"</body>\r\n</html>\r\n"
    )
    error = error_from_response(502, page, {"Content-Type": "text/html"}, secret=None)
    assert type(error) is mt.ServerError
    assert str(error) == "502 Bad Gateway (HTML error page from a proxy) (HTTP 502)"
    assert isinstance(error.body, str)


def test_html_page_with_heading_only_and_entities() -> None:
    page = b"<!DOCTYPE html><body><h1>Service &amp; <b>Unavailable</b></h1></body>"
    error = error_from_response(503, page, {}, secret=None)
    assert isinstance(error, mt.ServerError)
    assert error.message.startswith("Service & Unavailable")


def test_html_with_2xx_is_unexpected() -> None:
    error = error_from_response(200, b"<html><title>Login</title></html>", {}, secret=None)
    assert isinstance(error, mt.UnexpectedResponseError)
    assert "Login" in error.message


def test_empty_body_names_the_reason_phrase() -> None:
    error = error_from_response(504, b"", {}, secret=None)
    assert isinstance(error, mt.ServerError)
    assert "Gateway Timeout" in str(error)
    # A 200 with nothing in it is a gateway failure, retried like a 502.
    assert isinstance(error_from_response(200, b"  ", {}, secret=None), mt.BadGatewayError)


def test_plain_text_and_truncation() -> None:
    error = error_from_response(500, b"x" * 10_000, {}, secret=None)
    assert isinstance(error, mt.ServerError)
    assert len(str(error)) < 400
    assert isinstance(error.body, str)
    assert len(error.body) <= 2048
    error = error_from_response(200, b"not json at all", {}, secret=None)
    assert isinstance(error, mt.BadGatewayError) and error.status_code == 200
    assert "not json at all" in error.message


def test_non_error_json_with_error_status_and_detail() -> None:
    error = response(404, {"detail": "Not Found"})
    assert isinstance(error, mt.NotFoundError)
    assert error.message == "Not Found"
    assert isinstance(response(200, {"weird": 1}), mt.UnexpectedResponseError)


def test_redirect_is_unexpected_and_names_location() -> None:
    error = error_from_response(302, b"", {"Location": "https://x.example/"}, secret=None)
    assert isinstance(error, mt.UnexpectedResponseError)
    assert "https://x.example/" in error.message


def test_request_id_from_headers_case_insensitive() -> None:
    error = response(500, {"status": "error", "message": "x"}, {"X-Request-ID": "req-1"})
    assert error.request_id == "req-1"
    headers = httpx.Headers({"Request-Id": "req-2"})
    assert error_from_response(500, b"{}", headers, secret=None).request_id == "req-2"


# -- retry hints ---------------------------------------------------------------------------


def test_retry_after_sources_in_priority_order() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "9"}, None) == 1.5
    assert parse_retry_after({"Retry-After": "9"}, {"retry_after": 3}) == 9
    assert parse_retry_after({}, {"retry_after": 3}) == 3
    assert parse_retry_after({}, {"error": {"retry_after": "4"}}) == 4
    assert parse_retry_after({"X-RateLimit-Reset": "12"}, {}) == 12
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER": "2"}), None) == 2
    assert parse_retry_after({}, None) is None
    assert parse_retry_after({"Retry-After": "soon"}, None) is None


def test_retry_after_http_date_and_epoch_and_negative() -> None:
    future = formatdate(time.time() + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": future}, None) == pytest.approx(30, abs=2)
    past = formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, None) == 0
    epoch = str(int(time.time()) + 20)
    assert parse_retry_after({"x-ratelimit-reset": epoch}, None) == pytest.approx(20, abs=2)
    assert parse_retry_after({"Retry-After": "-5"}, None) == 0
    assert parse_retry_after({"Retry-After": "nan"}, None) is None


# -- property: any body at any status gives a typed error, never a crash or a leak ---------

_json = json_values(text_size=8, key_size=8, max_leaves=10)
_shaped = st.fixed_dictionaries(
    {"status": st.sampled_from(["error", "failed", "processing", "ok"]) | _json},
    optional={"message": _json, "messege": _json, "error": _json, "code": _json, "eta": _json},
)


@settings(deadline=None, max_examples=300)
@given(
    status=st.integers(min_value=100, max_value=599),
    body=st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "Retry-After-Ms", "x-ratelimit-reset", "content-type"]),
        st.text(max_size=12),
    ),
)
def test_any_body_gives_a_typed_error(status: int, body: bytes, headers: dict[str, str]) -> None:
    error = error_from_response(status, body + KEY.encode(), headers, secret=KEY)
    assert isinstance(error, mt.ModelsLabError)
    assert KEY not in str(error)
    assert "\n" not in str(error)


@settings(deadline=None, max_examples=300)
@given(body=_shaped | _json, status=st.none() | st.integers(min_value=200, max_value=599))
def test_any_payload_gives_none_or_a_typed_error(body: object, status: int | None) -> None:
    error = error_from_payload(body, status=status, secret=KEY)
    assert error is None or isinstance(error, mt.ModelsLabError)
    if error is not None:
        assert "\n" not in str(error)
