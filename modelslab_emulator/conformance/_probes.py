"""The fixed, cheap set of requests a conformance run sends, and what they can cost."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL = "mistralai-Magistral-Small-2506"
MAX_PROBES = 30
# Not a real key: the "bad key" probe must be refused, and it is harmless to record.
BAD_KEY = "conformance-invalid-key-000000"
UNKNOWN_MODEL = "conformance-no-such-model"

_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
_TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
_TOOLS_PROMPT = "Call get_weather and get_time for 'Paris'."
_SCHEMA = {
    "name": "city",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class Probe:
    """One named request: method, path under the base URL, JSON body, and how to authenticate.

    ``auth`` is ``"key"`` (the caller's key) or ``"bad"`` (``BAD_KEY``); ``key_headers`` names
    the headers that carry it (``Authorization: Bearer`` always) and ``body_key`` whether the
    chat body's ``"key"`` field does too.
    """

    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    auth: str = "key"
    x_api_key: bool = False
    body_key: bool = False
    purpose: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def stream(self) -> bool:
        return bool(self.body and self.body.get("stream"))

    @property
    def max_tokens(self) -> int:
        value = (self.body or {}).get("max_tokens", 0)
        return value if isinstance(value, int) else 0

    def request_body(self, key: str) -> dict[str, Any] | None:
        """The body as sent, with ``key`` in the ``"key"`` field where this probe uses it."""
        if self.body is None:
            return None
        return {**self.body, "key": key} if self.body_key else dict(self.body)

    def headers(self, key: str) -> dict[str, str]:
        """The request headers as sent (``key`` in the auth headers)."""
        headers = {"Authorization": f"Bearer {key}", "Accept": self._accept()}
        if self.x_api_key:
            headers["x-api-key"] = key
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _accept(self) -> str:
        return "text/event-stream" if self.stream else "application/json"


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _chat(name: str, purpose: str, model: str, *tags: str, **body: Any) -> Probe:
    payload = {"model_id": model, "model": model, **body}
    return Probe(
        name,
        "POST",
        "/chat/completions",
        payload,
        body_key=True,
        purpose=purpose,
        tags=frozenset(tags),
    )


def _messages(name: str, purpose: str, model: str, stream: bool) -> Probe:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 32,
        "messages": _user("Say hello in one word."),
    }
    if stream:
        body["stream"] = True
    return Probe(name, "POST", "/v1/messages", body, x_api_key=True, purpose=purpose)


def model_probes(model: str) -> list[Probe]:
    """The probes sent once per model."""
    hello = _user("Reply with the single word: hello")
    tools = {"tools": [_WEATHER, _TIME], "tool_choice": "required", "max_tokens": 128}
    return [
        _chat("chat-plain", "a plain answer", model, messages=hello, max_tokens=16),
        _chat(
            "chat-stream-usage",
            "a streamed answer asking for usage",
            model,
            messages=hello,
            max_tokens=16,
            stream=True,
            stream_options={"include_usage": True},
        ),
        _chat(
            "chat-tools", "two tool calls", model, "tools", messages=_user(_TOOLS_PROMPT), **tools
        ),
        _chat(
            "chat-tools-stream",
            "two tool calls, streamed",
            model,
            "tools",
            messages=_user(_TOOLS_PROMPT),
            stream=True,
            stream_options={"include_usage": True},
            **tools,
        ),
        _chat(
            "chat-json-object",
            "JSON mode (json_object)",
            model,
            "json",
            messages=_user("Give a JSON object with keys 'city' and 'country' for Paris."),
            response_format={"type": "json_object"},
            max_tokens=64,
        ),
        _chat(
            "chat-json-schema",
            "structured output (json_schema)",
            model,
            "json",
            messages=_user("Which city is the capital of France, and which country is it in?"),
            response_format={"type": "json_schema", "json_schema": _SCHEMA},
            max_tokens=64,
        ),
        _chat(
            "chat-reasoning-stream",
            "a question that makes a reasoning model think, streamed",
            model,
            messages=_user("What is 17 + 25? Answer with the number."),
            max_tokens=1536,
            stream=True,
            stream_options={"include_usage": True},
        ),
        _messages("messages", "Anthropic-style messages", model, stream=False),
        _messages("messages-stream", "Anthropic-style messages, streamed", model, stream=True),
    ]


def shared_probes(model: str) -> list[Probe]:
    """The probes sent once per run (with the first model where one is needed)."""
    hello = _user("Reply with the single word: hello")
    bad_key = _chat("error-bad-key", "a wrong API key", model, messages=hello, max_tokens=8)
    return [
        dataclasses.replace(bad_key, auth="bad"),
        _chat(
            "error-unknown-model",
            "a model id that does not exist",
            UNKNOWN_MODEL,
            messages=hello,
            max_tokens=8,
        ),
        _chat(
            "error-out-of-range",
            "temperature 5, outside the usual 0-2 range",
            model,
            messages=hello,
            max_tokens=8,
            temperature=5,
        ),
        Probe(
            "count-tokens",
            "POST",
            "/v1/messages/count_tokens",
            {"model": model, "system": "Be brief.", "messages": hello},
            x_api_key=True,
            purpose="count_tokens (no generation)",
        ),
        Probe("models", "GET", "/v1/models", x_api_key=True, purpose="the model list"),
    ]
