"""The HTTP server: request parsing, auth, routing, recording and writing replies."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._anthropic import count_tokens_body, message_body, message_stream, parse_messages
from ._catalog import models_listing
from ._chat import ChatReply
from ._errors import ApiError
from ._faults import Reply, error_reply, json_reply, queue_message, rate_limited, terminal_reply
from ._format_refusal import format_refusal
from ._hold import wait_or_gone
from ._log import (
    InFlight,
    RecordedRequest,
    RequestLog,
    key_fingerprint,
    redact_body,
    redact_headers,
)
from ._model import complete
from ._scenarios import HEADER, REASONING_SHAPES, Counters, Scenarios
from ._sse import SseStyle, StreamEvent, StreamPlan, apply_faults
from ._validate import parse_chat
from ._vllm import DEFAULT_PROFILE, host_for

PREFIX = "/api/v7/llm"
#: Control endpoints for other processes: read (``?reset=1``: and reset) or reset the stats.
CONTROL = "/_emulator"
_ROUTES = {
    "/chat/completions": "POST",
    "/v1/messages": "POST",
    "/v1/messages/count_tokens": "POST",
    "/v1/models": "GET",
}
_FAULTY_STREAM = (
    "drop-mid-stream",
    "no-done",
    "truncated",
    "error-mid-stream",
    "finish-error",
    "object-error-mid-stream",
    "openrouter-error-mid-stream",
    "cut-mid-line",
)


# No repr: it would show the API keys.
@dataclass(eq=False, repr=False)
class ServerState:
    """Everything the request handlers share."""

    api_keys: frozenset[str] | None
    served_context: int | None = None
    #: Every key's queue limit (None: unlimited); a ``queue-limit`` scenario overrides it.
    queue_limit: int | None = None
    queue_retry_after: float = 1
    #: ``openrouter`` or ``vllm``: the host every request meets unless its scenario says.
    profile: str = DEFAULT_PROFILE
    log: RequestLog = field(init=False, default_factory=RequestLog)
    counters: Counters = field(init=False, default_factory=Counters)
    in_flight: InFlight = field(init=False, default_factory=InFlight)
    stopping: threading.Event = field(init=False, default_factory=threading.Event)
    root_url: str = field(init=False, default="")
    _connections: set[socket.socket] = field(init=False, default_factory=set)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def track(self, connection: socket.socket, live: bool) -> None:
        """Remember (or forget) a live client connection."""
        with self._lock:
            if live:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut every live client connection down (used by ``stop``)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server with a deep accept queue that tracks its connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: ServerState, family: int) -> None:
        self.address_family = family
        self.state = state
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn, a reverse DNS lookup that can stall
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client hung up between requests: nothing to report
        super().handle_error(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.state.track(request, True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.state.track(request, False)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300  # idle keep-alive connections give their thread back eventually
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the server never logs requests (they may carry a key)."""

    def _serve(self) -> None:
        state = self.server.state
        if self.path.startswith(CONTROL + "/"):
            self._control()
            return
        self._ticket = state.log.ticket()
        self._arrival = time.monotonic()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        self._raw = self.rfile.read(length) if length > 0 else b""
        try:
            self._body: Any = json.loads(self._raw) if self._raw else None
            self._json_ok = True
        except (ValueError, UnicodeDecodeError):
            self._body, self._json_ok = None, False
        self._mismatch = False
        key = self._key()
        self._key_id = key_fingerprint(key) if key else None
        self._scenarios, self._problem = Scenarios(), None
        try:
            self._scenarios = state.counters.resolve(self.headers.get(HEADER))
            self._limit = self._queue_limit(self._scenarios)
        except ApiError as error:
            self._problem, self._limit = error, None
        # Counted in (or refused) at arrival, as ModelsLab queues a request when it arrives.
        entered = state.in_flight.enter(self._key_id, self._limit) if self._key_id else 0
        self._fingerprint = self._key_id if entered is not None else None
        try:
            self._handle(key, refused=entered is None)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        finally:
            self._leave()

    # Every method goes to `_serve`: it routes, and answers a method a path does not take.
    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def _leave(self) -> None:
        """Count this request out of ``in_flight``, once. Called before a reply's last bytes
        are written: a client may send its next request as soon as it has read them, and that
        request must not find this one still counted."""
        fingerprint, self._fingerprint = self._fingerprint, None
        if fingerprint:
            self.server.state.in_flight.leave(fingerprint)

    def _key(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        header_key = self.headers.get("x-api-key", "").strip()
        if bearer and header_key and bearer != header_key:
            self._mismatch = True  # two different keys: refused in _route
        if bearer or header_key:
            return bearer or header_key
        key = self._body.get("key") if isinstance(self._body, dict) else None
        return key if isinstance(key, str) and key else None

    def _queue_limit(self, scenarios: Scenarios) -> int | None:
        """This request's queue limit: the scenario's, else the emulator's option."""
        if scenarios.has("queue-limit"):
            return int(scenarios.number("queue-limit", "max", 5))
        return self.server.state.queue_limit

    def _control(self) -> None:
        """``GET /_emulator/stats[?reset=1]``, ``POST /_emulator/reset``: never logged, never
        counted, no key needed; stats name keys by fingerprint only."""
        in_flight = self.server.state.in_flight
        path, _, query = self.path.partition("?")
        with contextlib.suppress(ValueError):
            length = int(self.headers.get("Content-Length") or 0)
            if length > 0:
                self.rfile.read(length)
        if path == CONTROL + "/stats" and self.command == "GET":
            reply = json_reply(200, in_flight.stats(reset="reset=1" in query.split("&")))
        elif path == CONTROL + "/reset" and self.command == "POST":
            in_flight.reset()
            reply = json_reply(200, {"status": "ok"})
        else:
            reply = error_reply(ApiError(404, f"Not found: {path}"), "modelslab")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _handle(self, key: str | None, *, refused: bool) -> None:
        state = self.server.state
        scenarios = self._scenarios
        try:
            if self._problem is not None:
                raise self._problem
            if scenarios.has("slow-first-byte"):
                state.stopping.wait(scenarios.number("slow-first-byte", "delay", 1.0))
            if scenarios.has("hold-headers"):
                held = scenarios.number("hold-headers", "delay", 1.0)
                if wait_or_gone(self.connection, state.stopping, held):
                    self.close_connection = True  # the client left (or we stop): no answer
                    return
            result = self._route(key, refused, scenarios)
        except ApiError as error:
            result = error_reply(error, scenarios.error_shape)
        except Exception as error:  # an emulator bug must still answer, never hang the client
            bug = ApiError(500, f"Emulator internal error: {type(error).__name__}")
            result = error_reply(bug, scenarios.error_shape)
        if isinstance(result, StreamPlan):
            self._send_stream(result, scenarios)
            return
        if scenarios.has("blank-lines-200") and result.status == 200:
            # A slow answer can start with blank lines (keep-alive) before its JSON.
            result = Reply(200, b"\n\n  \n" + result.body, result.content_type, result.headers)
        self._send(result, scenarios)

    def _route(self, key: str | None, refused: bool, scenarios: Scenarios) -> Reply | StreamPlan:
        path, _, query = self.path.partition("?")
        endpoint = path[len(PREFIX) :] if path.startswith(PREFIX + "/") else None
        if endpoint not in _ROUTES:
            raise ApiError(404, f"Not found: {path}")
        if _ROUTES[endpoint] != self.command:
            raise ApiError(405, f"Method {self.command} not allowed on {path}")
        state = self.server.state
        if key is None:
            raise ApiError(401, "Missing API key")
        if self._mismatch:
            raise ApiError(401, "Invalid API key: x-api-key and Authorization differ")
        if (
            scenarios.has("require-x-api-key")
            and endpoint.startswith("/v1/")
            and not self.headers.get("x-api-key", "").strip()
        ):
            # /v1/models and /v1/messages* declare x-api-key auth in the v7 OpenAPI file.
            raise ApiError(401, "Missing x-api-key header")
        if state.api_keys is not None and key not in state.api_keys:
            raise ApiError(401, "Invalid API key")
        if refused and self._limit is not None:
            message = queue_message(self._limit)
            retry_after = state.queue_retry_after
            raise rate_limited(scenarios, "queue-limit", message=message, retry_after=retry_after)
        body = self._body
        stream = isinstance(body, dict) and bool(body.get("stream") or body.get("streaming"))
        if scenarios.terminal == "echo-key":
            # opt-in: lets client tests check that they scrub a key echoed back by the server
            status = int(scenarios.number("echo-key", "status", 400))
            raise ApiError(status, f"Request rejected for API key {key}")
        if scenarios.terminal and not (scenarios.terminal == "redirect" and "redirected" in query):
            location = f"{state.root_url}{path}?{query + '&' if query else ''}redirected=1"
            return terminal_reply(
                scenarios, stream=stream, base_url=state.root_url + PREFIX, location=location
            )
        if self.command == "GET":
            return json_reply(200, models_listing())
        if not self._json_ok:
            raise ApiError(400, "Malformed JSON in the request body.")
        return self._endpoint(endpoint, scenarios)

    def _endpoint(self, endpoint: str, scenarios: Scenarios) -> Reply | StreamPlan:
        created = int(time.time())
        unicode = scenarios.has("unicode")
        if endpoint == "/chat/completions":
            host = host_for(scenarios, self.server.state.profile)
            served = self._served(scenarios)
            chat = parse_chat(self._body, unicode=unicode, served=served, host=host)
            refusal = format_refusal(scenarios, self._body, stream=chat.stream)
            if refusal is not None:
                return refusal
            prefix = "chat-" if scenarios.has("chat-id") else "gen-"
            rid = host.response_id() if host else f"{prefix}{created}{self._ticket:06d}"
            model = chat.model
            if any(scenarios.has(name) for name in REASONING_SHAPES):
                model = replace(model, think=True, deliberate=False)
            reply = ChatReply(chat, complete(model), scenarios, rid, created)
            if scenarios.has("status-success"):  # an older v7 shape, even for streams
                return json_reply(200, reply.success_body())
            if not chat.stream:
                return json_reply(200, reply.body())
            return host.stream(reply.stream()) if host else reply.stream()
        if endpoint == "/v1/messages":
            request = parse_messages(self._body, unicode=unicode)
            rid = f"msg_emu{created}{self._ticket:06d}"
            completion = complete(request.model)
            if request.stream:
                return message_stream(request, completion, rid)
            return json_reply(200, message_body(request, completion, rid))
        counted = count_tokens_body(self._body)
        if scenarios.has("count-tokens-missing"):
            return json_reply(200, {"token_count": counted["input_tokens"]})
        return json_reply(200, counted)

    def _served(self, scenarios: Scenarios) -> int | None:
        """The served context for this request: the scenario's, else the emulator's option."""
        if scenarios.has("served-context"):
            tokens = int(scenarios.number("served-context", "tokens", 40_960))
            if tokens < 1:
                raise ApiError(400, "Emulator scenario served-context: tokens must be >= 1")
            return tokens
        return self.server.state.served_context

    def _record(self, status: int, scenarios: Scenarios) -> None:
        entry = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=redact_headers(self.headers.items()),
            body=redact_body(self._body),
            scenario=self.headers.get(HEADER),
            status=status,
            received_at=self._arrival,
        )
        self.server.state.log.add(self._ticket, entry)

    def _start(self, status: int, headers: dict[str, str], scenarios: Scenarios) -> None:
        self._record(status, scenarios)
        if status == 429 and self._key_id:
            self.server.state.in_flight.refused(self._key_id)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, reply: Reply, scenarios: Scenarios) -> None:
        content_type = reply.content_type
        if content_type != "text/html":
            content_type += "; charset=utf-8"
        headers = {"Content-Type": content_type, "Content-Length": str(len(reply.body))}
        drop = scenarios.has("drop-mid-stream") and reply.status == 200
        if drop or reply.status == 302:
            headers["Connection"] = "close"
            self.close_connection = True
        self._start(reply.status, {**headers, **reply.headers}, scenarios)
        self._leave()
        if drop:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self._abort()
            return
        for part in _split_utf8(reply.body) if scenarios.has("unicode") else [reply.body]:
            self.wfile.write(part)

    def _send_stream(self, plan: StreamPlan, scenarios: Scenarios) -> None:
        style = SseStyle.for_scenarios(scenarios)
        events, drop = apply_faults(plan, scenarios)
        headers = {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
        }
        if any(scenarios.has(name) for name in _FAULTY_STREAM):
            headers["Connection"] = "close"
            self.close_connection = True
        self._start(200, headers, scenarios)
        opened = self._key_id
        if opened:
            self.server.state.in_flight.stream_opened(opened)
        try:
            self._write_stream(plan, scenarios, style, events, drop)
        finally:
            if opened:  # the last byte is out, or the connection was seen closed
                self.server.state.in_flight.stream_closed(opened)

    def _write_stream(
        self,
        plan: StreamPlan,
        scenarios: Scenarios,
        style: SseStyle,
        events: list[StreamEvent],
        drop: bool,
    ) -> None:
        delay = scenarios.number("trickle", "delay", 0.05) if scenarios.has("trickle") else 0.0
        if plan.comment:
            self._chunk(style.comment(plan.comment))
        if scenarios.has("comment-keepalive") and self._keep_alive(style, scenarios):
            drop = True
            events = []
        for event in events:
            if delay and wait_or_gone(self.connection, self.server.state.stopping, delay):
                drop = True  # stopping, or the client left: a real server stops writing too
                break
            data = style.event(event.data, event.name)
            for part in _split_utf8(data) if scenarios.has("unicode") else [data]:
                self._chunk(part)
        if scenarios.has("cut-mid-line") and not drop:
            after = max(0, int(scenarios.number("cut-mid-line", "after", 3)))
            rest = [*plan.body[after:], *plan.tail]
            if rest:
                # Half of the next `data:` line, no line end: the connection then closes.
                line = style.event(rest[0].data, rest[0].name)
                self._chunk(line[: max(8, len(line) // 2)])
            drop = scenarios.param("cut-mid-line", "abort", "0") == "1"
        self._leave()
        if drop:
            self._abort()
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _keep_alive(self, style: SseStyle, scenarios: Scenarios) -> bool:
        """OpenRouter's wait for a queued request: ``count`` comment lines ``delay`` apart
        (``count=0``: silence for ``delay``). True if the server is stopping."""
        count = max(0, int(scenarios.number("comment-keepalive", "count", 3)))
        delay = scenarios.number("comment-keepalive", "delay", 0.2)
        stopping = self.server.state.stopping
        if count == 0:
            return stopping.wait(delay)
        for _ in range(count):
            if stopping.wait(delay):
                return True
            self._chunk(style.comment("OPENROUTER PROCESSING"))
        return False

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self) -> None:
        """End the connection abruptly: no terminating chunk, no further bytes."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _split_utf8(data: bytes) -> list[bytes]:
    """``data`` in pieces cut inside every multi-byte UTF-8 character (after its first byte)."""
    pieces, start = [], 0
    for index, byte in enumerate(data):
        if byte >= 0xC0 and index + 1 < len(data):
            pieces.append(data[start : index + 1])
            start = index + 1
    pieces.append(data[start:])
    return pieces
