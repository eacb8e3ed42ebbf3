"""Sending one probe and keeping the response exactly as it came (headers, body bytes)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

from ._probes import BAD_KEY, Probe

# Headers that describe this one transfer, not the answer; a replayed fixture would lie with them.
_TRANSFER_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
)


@dataclass
class Exchange:
    """One request as sent and the response as received (nothing redacted yet)."""

    method: str
    path: str
    request_headers: dict[str, str]
    request_body: object
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    failure: str | None = None  # a transport error: no answer, or an answer cut short

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes as U+FFFD, which the report then flags)."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def client(base_url: str, *, local: bool) -> httpx.Client:
    """An HTTP client for one target; environment proxies apply only to remote targets."""
    timeout = httpx.Timeout(180.0, connect=15.0)
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        follow_redirects=False,
        trust_env=not local,
        headers={"User-Agent": "modelslab-emulator-conformance"},
    )


def send(http: httpx.Client, probe: Probe, key: str) -> Exchange:
    """Send ``probe`` authenticated with ``key`` (or the bad key) and capture the reply."""
    used = BAD_KEY if probe.auth == "bad" else key
    headers = probe.headers(used)
    body = probe.request_body(used)
    exchange = Exchange(probe.method, probe.path, headers, body)
    content = None if body is None else json.dumps(body).encode("utf-8")
    chunks: list[bytes] = []
    try:
        with http.stream(probe.method, probe.path, headers=headers, content=content) as response:
            exchange.status = response.status_code
            for name, value in response.headers.multi_items():
                lower = name.lower()
                if lower not in _TRANSFER_HEADERS:
                    seen = exchange.headers.get(lower)
                    exchange.headers[lower] = value if seen is None else f"{seen}, {value}"
            if response.status_code == 200 and "abort-if-accepted" in probe.tags:
                return exchange  # a host that accepted it would bill a long answer: hang up
            for chunk in response.iter_bytes():
                chunks.append(chunk)
    except httpx.HTTPError as error:
        # the type only: a message could quote the request, and the request holds the key
        exchange.failure = type(error).__name__
    exchange.body = b"".join(chunks)
    return exchange
