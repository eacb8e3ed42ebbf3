"""Parsing of the ``X-Emulator-Scenario`` header and its "N times, then success" counters."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ._errors import ApiError

HEADER = "X-Emulator-Scenario"

#: Scenarios that replace the whole reply; the first active one in the header wins.
TERMINAL = frozenset(
    {
        "rate-limit",
        "server-error",
        "html-502",
        "insufficient-credits",
        "forbidden",
        "processing",
        "redirect",
        "error-200",
        "http-error",
        "echo-key",
        "non-json-200",
        "openrouter-429",
        "error-string",
    }
)
#: Scenarios that shape a normal reply (several may combine).
SHAPING = frozenset(
    {
        "content-blocks",
        "thinking-blocks",
        "unterminated-think",
        "close-only-think",
        "reasoning-field",
        "reasoning-openrouter",
        "think-split",
        "multi-tool-chunk",
        "repeat-tool-id",
        "no-tool-index",
        "no-usage",
        "usage-on-last-chunk",
        "openai-error",
        "legacy-messege",
        "error-mid-stream",
        "drop-mid-stream",
        "no-done",
        "truncated",
        "slow-first-byte",
        "hold-headers",
        "trickle",
        "crlf",
        "cr",
        "no-space",
        "multiline-data",
        "unicode",
        "extra-fields",
        "queue-limit",
        "chat-id",
        "content-filter",
        "refuse-json-schema",
        "refuse-json-mode",
        "served-context",
        "finish-error",
        "object-error-mid-stream",
        "openrouter-error-mid-stream",
        "cut-mid-line",
        "blank-lines-200",
        "count-tokens-missing",
        "status-success",
        "comment-keepalive",
        "require-x-api-key",
        "profile",
    }
)
KNOWN = TERMINAL | SHAPING
#: Shaping scenarios about how reasoning is written: any model reasons under them.
REASONING_SHAPES = frozenset({"thinking-blocks", "unterminated-think", "close-only-think"})
#: ``times`` when not given: retryable faults happen once, everything else on every request.
_DEFAULT_TIMES = {
    "rate-limit": 1,
    "server-error": 1,
    "html-502": 1,
    "non-json-200": 1,
    "openrouter-429": 1,
}


@dataclass(frozen=True)
class Scenarios:
    """The scenarios active for one request, with their parameters."""

    raw: str | None = None
    active: dict[str, dict[str, str]] = field(default_factory=dict)
    terminal: str | None = None

    def has(self, name: str) -> bool:
        """Whether scenario ``name`` is active for this request."""
        return name in self.active

    def param(self, name: str, key: str, default: str) -> str:
        """A parameter of an active scenario, as text."""
        return self.active.get(name, {}).get(key, default)

    def number(self, name: str, key: str, default: float) -> float:
        """A numeric parameter of an active scenario."""
        text = self.param(name, key, "")
        try:
            return float(text) if text else default
        except ValueError:
            raise ApiError(400, f"Emulator scenario {name}: {key} must be a number") from None

    @property
    def error_shape(self) -> str:
        """``openai``, ``legacy`` or ``modelslab``: how error bodies look."""
        if self.has("openai-error"):
            return "openai"
        return "legacy" if self.has("legacy-messege") else "modelslab"


def parse(raw: str) -> list[tuple[str, dict[str, str]]]:
    """``"a;k=v, b"`` → ``[("a", {"k": "v"}), ("b", {})]``; unknown names raise a 400."""
    parsed: list[tuple[str, dict[str, str]]] = []
    for item in raw.split(","):
        parts = [p.strip() for p in item.split(";")]
        name = parts[0].lower()
        if not name:
            continue
        if name not in KNOWN:
            raise ApiError(400, f"Unknown emulator scenario: {name}")
        params: dict[str, str] = {}
        for part in parts[1:]:
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise ApiError(400, f"Emulator scenario {name}: bad parameter {part!r}")
            params[key.strip().lower()] = value.strip()
        parsed.append((name, params))
    return parsed


class Counters:
    """How often each counted scenario has fired, per exact header value (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fired: dict[tuple[str, str], int] = {}

    def clear(self) -> None:
        """Forget every counter."""
        with self._lock:
            self._fired.clear()

    def resolve(self, raw: str | None) -> Scenarios:
        """Decide which scenarios of the header fire for this request, and count them."""
        if raw is None or not raw.strip():
            return Scenarios(raw)
        parsed = parse(raw)
        active: dict[str, dict[str, str]] = {}
        terminal: str | None = None
        with self._lock:
            for name, params in parsed:
                if name in TERMINAL and terminal is not None:
                    continue
                try:
                    times = int(params.get("times", _DEFAULT_TIMES.get(name, -1)))
                except ValueError:
                    raise ApiError(400, f"Emulator scenario {name}: times must be an int") from None
                if times >= 0:
                    key = (raw, name)
                    if self._fired.get(key, 0) >= times:
                        continue
                    self._fired[key] = self._fired.get(key, 0) + 1
                active[name] = params
                if name in TERMINAL:
                    terminal = name
        return Scenarios(raw, active, terminal)
