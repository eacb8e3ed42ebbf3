"""Key redaction: every byte a run writes or prints passes through one ``Redactor``."""

from __future__ import annotations

import json
from typing import Any

REDACTED = "<redacted>"
# Headers whose value is a credential whatever it holds.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})
# Headers that may carry session identifiers; recordings keep the name, never the value.
PRIVATE_HEADERS = frozenset({"set-cookie", "cookie"})


class Redactor:
    """Replaces the API key (and the forms a server could echo it in) by ``<redacted>``."""

    def __init__(self, *keys: str) -> None:
        forms: set[str] = set()
        for key in keys:
            if len(key) < 4:  # too short to replace safely; such a key is refused earlier
                continue
            forms.add(key)
            forms.add(json.dumps(key)[1:-1])  # as written inside a JSON string
            forms.add(json.dumps(key, ensure_ascii=False)[1:-1])
        # longest first, so that a form containing another is replaced whole
        self._forms = sorted(forms, key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` with every form of the key replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """Header names lower-cased; credentials and cookies replaced, the key scrubbed."""
        out: dict[str, str] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower in SECRET_HEADERS or lower in PRIVATE_HEADERS:
                out[lower] = REDACTED
            else:
                out[lower] = self.text(value)
        return out

    def body(self, body: Any) -> Any:
        """A JSON value with its ``"key"`` field replaced and the key scrubbed from strings."""
        if isinstance(body, dict):
            return {
                k: REDACTED if k == "key" else self.body(v) for k, v in body.items()
            }  # fmt: skip
        if isinstance(body, list):
            return [self.body(v) for v in body]
        if isinstance(body, str):
            return self.text(body)
        return body
