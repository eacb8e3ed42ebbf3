"""Every failure typed in one place: ModelsLab's error bodies (both shapes, any status), httpx
failures, and a stream's failures (cut short, silent, a provider failing mid-answer).

Two body shapes occur at any HTTP status, 200 included, and inside a stream:
`{"error": {"message", "type", "code"}}` (OpenAI) and `{"status": "error", "message": ...}`
(ModelsLab, with the legacy misspelling `messege`). A proxy may answer with an HTML page.
Every message is one readable line, with the API key scrubbed out; what a body without a status
means, by its hosts' wording, is in `models._error_wordings`.
"""

from __future__ import annotations

import html
import http
import json
import re
from collections.abc import Mapping
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ContextLengthExceededError,
    IncompleteStreamError,
    InsufficientCreditsError,
    ModelsLabError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    scrub,
)
from ._retry_hints import header, parse_retry_after
from .models._error_wordings import CONTEXT_PHRASES, STATUS_BY_TYPE, status_by_wording

if TYPE_CHECKING:
    import httpx

__all__ = [
    "check_answer",
    "error_from_payload",
    "error_from_response",
    "error_from_transport",
    "failed_mid_answer",
    "parse_retry_after",
    "provider_failed",
    "scrub",
    "stream_ended_early",
    "stream_silent",
    "typed",
]

_MAX_MESSAGE = 500
_MAX_BODY_TEXT = 2048

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}
_ERROR_STATUSES = frozenset(("error", "failed", "failure"))
_scan = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # json.loads's own scanner


def loads(data: str | bytes) -> Any:
    """`json.loads`, minus its wrapper's cost for one bare value (UTF-8, no whitespace around
    it): the same scanner; anything else (or a failure) goes through json.loads itself."""
    if isinstance(data, (bytes, bytearray)):
        if data[:1] != b"{" or data[1:2] == b"\0":  # json.loads would detect another encoding
            return json.loads(data)
        data = data.decode("utf-8", "surrogatepass")  # as json.loads decodes UTF-8
    try:
        value, end = _scan(data, 0)
    except (StopIteration, ValueError):
        return json.loads(data)
    return value if end == len(data) else json.loads(data)


def check_answer(status: int, headers: Mapping[str, str], content: bytes, secret: str) -> Any:
    """The JSON value of a whole answer, or the typed error it stands for: the one check every
    answer that is not an event stream goes through (status, redirect, body)."""
    if status < 300:
        try:
            value = loads(content)
        except ValueError:
            raise error_from_response(status, content, headers, secret=secret) from None
        error = error_from_payload(value, status=status, secret=secret)
        if error is not None:
            raise error
        return value
    error = error_from_response(status, content, headers, secret=secret)
    should = header(headers, "x-should-retry")
    error.should_retry = {"true": True, "false": False}.get(should or "")
    if error.retry_after is None:
        body = error.body
        error.retry_after = parse_retry_after(headers, body if isinstance(body, dict) else None)
    raise error


def error_from_payload(
    obj: object, *, status: int | None, secret: str | None
) -> ModelsLabError | None:
    """The typed error `obj` (a decoded JSON value) describes, or None if it is not an error."""
    return _from_payload(obj, status, secret, {}, None)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, secret: str | None
) -> ModelsLabError:
    """The typed error for an error response: non-2xx, or 2xx with an error or non-JSON body."""
    request_id = header(headers, "x-request-id") or header(headers, "request-id")
    if request_id is not None:
        request_id = scrub(request_id, secret)[:200]
    stripped = scrub(body.decode("utf-8", "replace"), secret).strip()
    body_text: object = truncate(stripped, _MAX_BODY_TEXT) or None
    if 300 <= status < 400:
        location = scrub(header(headers, "location") or "", secret)
        return UnexpectedResponseError(
            f"ModelsLab redirected to {location or 'another URL'}; redirects are not followed "
            "because they would resend the API key (check base_url)",
            status_code=status,
            body=body_text,
            request_id=request_id,
        )
    # What the body is tells the message for an error status, and the error for a 2xx one.
    answered = f"ModelsLab answered HTTP {status} with"
    obj = _json(stripped)
    if obj is not None:
        body_text = obj = scrub_obj(obj, secret)
        error = _from_payload(obj, status, secret, headers, request_id)
        if error is not None:
            return error
        failed = detail = message_of(obj) or reason(status)
        odd: type[ModelsLabError] = UnexpectedResponseError
        odd_text = f"{answered} unexpected JSON: {truncate(one_line(stripped), 200)}"
    elif not stripped:
        failed, detail, odd = f"{reason(status)} (empty response body)", "", BadGatewayError
        odd_text = (
            f"{answered} an empty body instead of JSON "
            "(a gateway failure, retried like a 502 Bad Gateway)"
        )
    elif looks_like_html(stripped, headers):
        title = html_title(stripped) or f"{status} {reason(status)}"
        failed, detail, odd = f"{title} (HTML error page from a proxy)", "", UnexpectedResponseError
        odd_text = f"ModelsLab answered with an HTML page instead of JSON: {title}"
    else:
        detail = truncate(one_line(stripped), 200)
        failed = f"{reason(status)}: {detail}"
        # A gateway (OpenRouter has done it) can answer 200 with a body that is not JSON, e.g.
        # whitespace and ".": no answer was delivered, so it is retried like a 502 Bad Gateway.
        odd = BadGatewayError
        odd_text = f"{answered} a body that is not JSON ({detail!r}); treated as a 502 Bad Gateway"
    if status >= 400:
        cls = _classify(status, None, None, detail)
        return _build(cls, failed, status, body_text, request_id, headers)
    return odd(odd_text, status_code=status, body=body_text, request_id=request_id)


def _json(text: str) -> object:
    """The JSON value of an object or array body, or None (not JSON, or absurdly nested)."""
    if text[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _from_payload(
    obj: object,
    status: int | None,
    secret: str | None,
    headers: Mapping[str, str],
    request_id: str | None,
) -> ModelsLabError | None:
    if not isinstance(obj, dict):
        return None
    error = obj.get("error")
    state = obj.get("status")
    state = state.lower() if isinstance(state, str) else None
    code: object = obj.get("code")
    kind: object = None
    if isinstance(error, dict) and error:
        message = render(error.get("message")) or render(obj.get("message"))
        code = error.get("code", code)
        kind = error.get("type")
        metadata = error.get("metadata")
        raw = metadata.get("raw") if isinstance(metadata, dict) else None
        if isinstance(raw, str) and raw.strip() and raw.strip() not in message:
            message = f"{message}: {raw}" if message else raw  # OpenRouter's upstream detail
        message = message or render(kind) or render(code) or "unknown error"
    elif isinstance(error, str) and error.strip():
        message = error
        if isinstance(obj.get("message"), str) and obj["message"] != error:
            message = f"{error}: {obj['message']}"
    elif error is True or state in _ERROR_STATUSES:
        message = message_of(obj) or "unknown error"
    elif obj.get("object") == "error":  # vLLM: {"object": "error", "message", "type", "code"}
        kind = obj.get("type")
        message = message_of(obj) or render(kind) or render(code) or "unknown error"
    elif state in ("processing", "queued", "pending"):
        return _queued(obj, status, secret, request_id)
    else:
        return None
    message = truncate(scrub(one_line(message), secret), _MAX_MESSAGE)
    cls = _classify(status, _as_status(code), kind, message)
    return _build(cls, message, status, scrub_obj(obj, secret), request_id, headers)


def _queued(
    obj: dict[str, Any], status: int | None, secret: str | None, request_id: str | None
) -> UnexpectedResponseError:
    details = []
    eta = obj.get("eta")
    if isinstance(eta, (int, float, str)) and str(eta).strip():
        details.append(f"eta {eta} s")
    job = obj.get("id")
    if job is None and isinstance(obj.get("fetch_result"), str):
        job = obj["fetch_result"].rstrip("/").rsplit("/", 1)[-1]
    if isinstance(job, (int, str)) and str(job).strip():
        details.append(f"fetch_result id {job}")
    extra = f" ({', '.join(details)})" if details else ""
    message = (
        f"ModelsLab queued the request instead of answering{extra}; "
        "a chat completion does not expect a queued job, so retry later"
    )
    return UnexpectedResponseError(
        truncate(scrub(one_line(message), secret), _MAX_MESSAGE),
        status_code=status,
        body=scrub_obj(obj, secret),
        request_id=request_id,
    )


def _classify(
    status: int | None, code: int | None, kind: object, message: str
) -> type[APIStatusError]:
    effective = status if status is not None and status >= 400 else code
    if effective is None and isinstance(kind, str):
        effective = STATUS_BY_TYPE.get(kind.lower())
    lowered = message.lower()
    if effective in (None, 400, 413, 422) and any(p in lowered for p in CONTEXT_PHRASES):
        return ContextLengthExceededError
    if effective is None:
        effective = status_by_wording(lowered)  # no status: the host's wording tells
    return ServerError if effective >= 500 else _BY_STATUS.get(effective, APIStatusError)


def _build(
    cls: type[APIStatusError],
    message: str,
    status: int | None,
    body: object,
    request_id: str | None,
    headers: Mapping[str, str],
) -> APIStatusError:
    error = cls(message, status_code=status, body=body, request_id=request_id)
    if cls is RateLimitError:
        error.retry_after = parse_retry_after(headers, body)
    return error


def _as_status(code: object) -> int | None:
    if isinstance(code, str) and code.strip().isascii() and code.strip().isdigit():
        code = int(code.strip())
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    return None


# -- error text: one readable line ---------------------------------------------------------

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h[1-3][^>]*>(.*?)</h[1-3]\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_MAX_DEPTH = 32


def message_of(obj: object) -> str:
    if not isinstance(obj, dict):
        return render(obj)
    for key in ("message", "messege", "error", "detail", "msg", "errors"):
        text = render(obj.get(key))
        if text:
            return text
    return ""


def render(value: object, depth: int = 0) -> str:
    """A message that may be a string, a list or a dict, as one readable line."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if depth > _MAX_DEPTH:
        return "…"
    if isinstance(value, (list, tuple)):
        return "; ".join(part for part in (render(item, depth + 1) for item in value) if part)
    if isinstance(value, dict):
        if "message" in value or "msg" in value:
            return render(value.get("message") or value.get("msg"), depth + 1)
        parts = []
        for key, item in value.items():
            text = render(item, depth + 1)
            if text:
                parts.append(f"{key}: {text}")
        return "; ".join(parts)
    return str(value)


def scrub_obj(obj: Any, secret: str | None, depth: int = 0) -> Any:
    """A copy of a decoded JSON value with `secret` scrubbed from every string in it."""
    if not secret:
        return obj
    if isinstance(obj, str):
        return scrub(obj, secret)
    if depth > _MAX_DEPTH and isinstance(obj, (list, dict)):
        return "…"  # absurdly deep bodies are cut rather than risk a RecursionError
    if isinstance(obj, list):
        return [scrub_obj(item, secret, depth + 1) for item in obj]
    if isinstance(obj, dict):
        return {scrub(str(k), secret): scrub_obj(v, secret, depth + 1) for k, v in obj.items()}
    return obj


def looks_like_html(text: str, headers: Mapping[str, str]) -> bool:
    if "html" in (header(headers, "content-type") or "").lower():
        return True
    head = text[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head


def html_title(text: str) -> str:
    for pattern in (_TITLE, _HEADING):
        found = pattern.search(text, 0, 20_000)
        if found:
            title = one_line(html.unescape(_TAG.sub(" ", found.group(1))))
            if title:
                return truncate(title, 200)
    return ""


def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- httpx failures and a stream's own --------------------------------------------------------


def error_from_transport(exc: httpx.HTTPError, *, streaming: bool) -> APIConnectionError:
    """Type an httpx failure; `resend_safe` says whether sending again cannot bill twice."""
    import httpx  # loaded already: the failure came from it

    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return APITimeoutError(f"Timed out connecting to ModelsLab: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        what = (
            "waiting for the stream to start (first_byte_timeout, capped by the read timeout)"
            if streaming
            else "waiting for ModelsLab's answer"
        )
        error = APITimeoutError(f"Timed out {what} ({type(exc).__name__})")
        # The request was sent and may be running (and billed): do not send it again.
        error.resend_safe = False
        return error
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError(f"Could not connect to ModelsLab: {exc}")
    return APIConnectionError(f"Connection to ModelsLab failed: {type(exc).__name__}: {exc}")


def typed(failure: Exception) -> ModelsLabError:
    """A stream's failure as a typed error (httpx errors become connection errors)."""
    import httpx  # loaded already: a stream was read

    if isinstance(failure, ModelsLabError):
        return failure
    if isinstance(failure, httpx.HTTPError):
        return error_from_transport(failure, streaming=True)
    raise failure  # pragma: no cover - the reader returns only the two kinds above


_E = TypeVar("_E", bound=ModelsLabError)


def failed_mid_answer(error: _E) -> _E | ServerError:
    """An error event once the answer had begun: the request was accepted, so a 4xx-coded
    event is the provider failing mid-answer, not a refusal of the request."""
    if type(error) in (BadRequestError, APIStatusError):
        return ServerError(error.message, body=error.body, request_id=error.request_id)
    return error


def provider_failed(answer: str, *, body: Any = None) -> ServerError:
    """`finish_reason: "error"` (a gateway's provider failure, with no error object) ending
    `answer` ("The stream", "ModelsLab's answer"): what came is not a complete answer."""
    return ServerError(
        f"{answer} ended with finish_reason 'error': the provider failed before the answer was "
        "complete",
        body=body,
    )


_ENDED = {
    "unfinished": "the stream ended before the answer was complete (no [DONE] and no finish "
    "reason): partial output is not an answer",
    "mid_event": "the stream was cut in the middle of an event: the answer is incomplete",
    "connection": "the connection closed in the middle of the stream: the answer is incomplete",
}


def stream_ended_early(
    how: Literal["unfinished", "mid_event", "connection"],
) -> IncompleteStreamError:
    """A stream cut short: ended without [DONE] or a finish reason, inside an event, or by the
    connection closing after it had begun."""
    return IncompleteStreamError(_ENDED[how])


def stream_silent(limit: float | None, *, waiting: bool, consumer: bool = False) -> APITimeoutError:
    """A stream's silence limit passed: the first event's (`waiting`), the idle one, or the
    consumer's (`consumer`: the caller held an event too long). Never sent again."""
    if consumer:
        error = APITimeoutError(
            f"The stream's consumer did not ask for its next event within {limit:g} "
            "s (stream_consumer_timeout): the stream was closed and its in-flight slot freed"
        )
    elif waiting:
        error = APITimeoutError(
            f"The stream sent no event (nor keep-alive) for {limit:g} s while "
            "waiting for its first one (first_byte_timeout)"
        )
    else:
        error = APITimeoutError(f"The stream sent no event for {limit:g} s (stream_idle_timeout)")
    # A timed-out request may still be running (and billed): never sent again.
    error.resend_safe = False
    return error
