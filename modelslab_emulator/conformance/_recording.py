"""Exchanges as fixture files: the JSON format the replay tests read (keys redacted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._redact import Redactor
from ._wire import Exchange


def fixture(name: str, source: str, exchange: Exchange, redactor: Redactor) -> dict[str, Any]:
    """The fixture document of one exchange.

    Format (one file per exchange)::

        {"name": ..., "source": ...,
         "request": {"method", "path", "headers", "body"},
         "response": {"status", "headers", "body"}}

    ``response.body`` is the raw body text as received (streams with their comment lines and
    line endings), with only the key replaced.
    """
    return {
        "name": name,
        "source": source,
        "request": {
            "method": exchange.method,
            "path": exchange.path,
            "headers": redactor.headers(exchange.request_headers),
            "body": redactor.body(exchange.request_body),
        },
        "response": {
            "status": exchange.status,
            "headers": redactor.headers(exchange.headers),
            "body": redactor.text(exchange.text),
        },
    }


def write_fixture(folder: Path, document: dict[str, Any], redactor: Redactor) -> Path:
    """Write ``document`` to ``folder/<name>.json``; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document['name']}.json"
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path.write_text(redactor.text(text), encoding="utf-8")
    return path


def load_fixture(path: Path) -> dict[str, Any]:
    """A fixture file as written by ``write_fixture``."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document
