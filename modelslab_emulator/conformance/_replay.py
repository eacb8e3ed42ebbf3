"""Holding the emulator to recordings already made (offline): ``--recordings DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._emulator import Emulator
from ._compare import differences
from ._host import host_probes
from ._probes import DEFAULT_MODEL, Probe, model_probes, shared_probes
from ._recording import load_fixture
from ._redact import REDACTED
from ._report import ProbeResult
from ._shape import shape_of
from ._wire import client, send

_KNOWN = {
    p.name: p
    for p in [
        *model_probes(DEFAULT_MODEL),
        *shared_probes(DEFAULT_MODEL),
        *host_probes(DEFAULT_MODEL),
    ]
}


def probe_for(document: dict[str, Any]) -> Probe:
    """The probe that re-sends a recorded request (auth as recorded, the key left out)."""
    name = str(document["name"])
    request = document["request"]
    headers = {str(k).lower(): v for k, v in (request.get("headers") or {}).items()}
    body = request.get("body")
    sent = {k: v for k, v in body.items() if k != "key"} if isinstance(body, dict) else None
    known = _KNOWN.get(name.split("--")[0])
    return Probe(
        name,
        str(request.get("method", "POST")),
        str(request["path"]),
        sent,
        auth=known.auth if known else "key",
        x_api_key="x-api-key" in headers,
        body_key=isinstance(body, dict) and body.get("key") == REDACTED,
        purpose="; ".join([*([known.purpose] if known else []), str(document.get("source", "?"))]),
        tags=known.tags if known else _tags(sent),
    )


def _tags(body: dict[str, Any] | None) -> frozenset[str]:
    tags = set()
    response_format = (body or {}).get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") != "text":
        tags.add("json")
    if (body or {}).get("tools"):
        tags.add("tools")
    return frozenset(tags)


def compare_recordings(folder: Path, key: str) -> list[ProbeResult]:
    """Re-send every recording in ``folder`` to a fresh emulator and compare the shapes."""
    paths = sorted(folder.glob("*.json"))
    results = []
    with Emulator(api_keys=[key]) as reference, client(reference.base_url, local=True) as http:
        for path in paths:
            document = load_fixture(path)
            probe = probe_for(document)
            response = document["response"]
            recorded = shape_of(
                response.get("status"), response.get("headers") or {}, response.get("body") or "",
                tags=probe.tags,
            )  # fmt: skip
            mirror = send(http, probe, key)
            ours = shape_of(mirror.status, mirror.headers, mirror.text, tags=probe.tags)
            results.append(
                ProbeResult(
                    probe.name,
                    probe.purpose,
                    str(response.get("status")),
                    "no answer" if mirror.status is None else str(mirror.status),
                    differences(recorded, ours, label="recording"),
                    [str(path)],
                )
            )
    return results
