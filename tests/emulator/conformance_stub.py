"""A stdlib HTTP server for the conformance tests: an emulator behind a proxy that changes answers.

It recognises each conformance probe by its path and body, asks the upstream emulator for the
answer (optionally with scenario headers), then lets a per-probe function rewrite the status,
headers and body. So each planted difference is one line in the test that plants it.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from modelslab_emulator import SCENARIO_HEADER, Emulator
from modelslab_emulator.conformance import plan
from tests.support.loopback_server import QuietHandler


@dataclass
class Answer:
    """A response the stub is about to send; ``key`` is the key the request carried."""

    status: int
    headers: dict[str, str]
    body: str
    key: str


@dataclass
class Plant:
    """How the stub answers one probe differently from the emulator."""

    scenario: str | None = None
    rewrite: Callable[[Answer], None] | None = None


@dataclass
class StubLog:
    keys_seen: set[str] = field(default_factory=set)
    probes_seen: list[str] = field(default_factory=list)


def _probe_names(models: list[str]) -> dict[tuple[str, str], str]:
    """``(path, canonical body without "key")`` -> probe name."""
    names = {}
    for item in plan(models):
        probe = item.probe
        body = None if probe.body is None else json.dumps(probe.body, sort_keys=True)
        names[(probe.path, str(body))] = item.name
    return names


@contextmanager
def stub_server(
    upstream: Emulator, plants: dict[str, Plant], models: list[str]
) -> Iterator[tuple[str, StubLog]]:
    """Serve on a free loopback port; yields (base URL, log)."""
    names = _probe_names(models)
    log = StubLog()
    prefix = urlsplit(upstream.base_url).path

    class Handler(QuietHandler):
        def serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw else None
            key = self.headers.get("Authorization", "")[len("Bearer ") :]
            log.keys_seen.add(key)
            canonical = None
            if isinstance(body, dict):
                canonical = json.dumps(
                    {k: v for k, v in body.items() if k != "key"}, sort_keys=True
                )
            path = self.path[len(prefix) :]
            name = names.get((path, str(canonical)), "?")
            log.probes_seen.append(name)
            plant = plants.get(name, Plant())
            headers = {
                h: v
                for h, v in self.headers.items()
                if h.lower() in ("authorization", "x-api-key", "content-type")
            }
            if plant.scenario:
                headers[SCENARIO_HEADER] = plant.scenario
            connection = http.client.HTTPConnection(upstream.host, upstream.port, timeout=10)
            try:
                connection.request(self.command, self.path, body=raw or None, headers=headers)
                response = connection.getresponse()
                answer = Answer(
                    response.status,
                    {"Content-Type": response.getheader("Content-Type", "")},
                    response.read().decode("utf-8"),
                    key,
                )
            finally:
                connection.close()
            if plant.rewrite is not None:
                plant.rewrite(answer)
            data = answer.body.encode("utf-8")
            self.send_response(answer.status)
            for name_, value in answer.headers.items():
                self.send_header(name_, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
