"""The conformance run's shape reader, fed the emulator's own variants (one scenario each).

Each case asks the emulator for one documented variant of the wire and checks that the shape
names it, so the report can tell the variants apart when the real service sends them.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_emulator.conformance import shape_of
from tests.support.scenarios import unique
from tests.support.stdlib_http import LLAMA, MAGISTRAL, call, user

TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
    for n in ("get_weather", "get_time")
]


def _body(kind: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model_id": MAGISTRAL, "messages": user("Hi there"), "max_tokens": 64}
    if kind.startswith("stream"):
        body.update(stream=True, stream_options={"include_usage": True})
    if kind.endswith("tools"):
        body.update(
            model_id=LLAMA,
            messages=user("Call get_weather and get_time."),
            tools=TOOLS,
            tool_choice="required",
        )
    return body


MODELSLAB_ERROR = 'ModelsLab {"status":"error","message":...}'
CASES = [
    # (scenario, request kind, feature, value with the scenario, value without it)
    ("no-usage", "stream", "usage arrives", "none", "usage-only chunk (no choices)"),
    ("usage-on-last-chunk", "stream", "usage arrives", "on the finish chunk", None),
    ("reasoning-field", "stream", "reasoning arrives", "reasoning_content field", None),
    (
        "reasoning-openrouter",
        "plain",
        "reasoning arrives",
        "reasoning field",
        "inline <think> tags",
    ),
    ("think-split", "stream", "reasoning arrives", "inline <think> tags", "inline <think> tags"),
    ("cr", "stream", "SSE line endings", "CR", "LF"),
    ("crlf", "stream", "SSE line endings", "CRLF", "LF"),
    ("no-space", "stream", "SSE data: spacing", "no space after colon", "space after colon"),
    ("no-done", "stream", "SSE [DONE]", "none", "present"),
    ("multi-tool-chunk", "stream-tools", "tool calls: several calls in one chunk", "yes", "no"),
    ("no-tool-index", "stream-tools", "tool calls: index on every fragment", "no", "yes"),
    ("repeat-tool-id", "stream-tools", "tool calls: id repeated on later fragments", "yes", "no"),
    ("openai-error", "error", "error shape", 'OpenAI {"error":{...}}', None),
    ("legacy-messege", "error", "error shape", 'ModelsLab {"status":"error","messege":...}', None),
    ("error-mid-stream", "stream", "errors in stream", MODELSLAB_ERROR, "none"),
    ("html-502", "plain", "body kind", "HTML", "JSON"),
    ("rate-limit;retry_after=2", "plain", "retry hint headers", "retry-after", "none"),
    ("rate-limit;retry_after=2", "plain", "retry hint in body", "retry_after", "none"),
    ("error-200", "plain", "error shape", MODELSLAB_ERROR, "none"),
    ("truncated;after=2", "stream", "SSE [DONE]", "none", "present"),
]


def _shape(emu: Emulator, kind: str, scenario: str | None) -> dict[str, str]:
    body = _body(kind)
    if kind == "error":
        body["model_id"] = "no-such-model"
    if scenario is not None:  # one-shot scenarios fire once per distinct header value
        scenario = unique(scenario)
    response = call(emu, "/chat/completions", body, scenario=scenario)
    text = response.body.decode("utf-8")
    return shape_of(response.status, response.headers, text).features


@pytest.mark.parametrize(
    ("scenario", "kind", "feature", "value", "plain"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_the_shape_names_each_variant(
    emu: Emulator, scenario: str, kind: str, feature: str, value: str, plain: str | None
) -> None:
    assert _shape(emu, kind, scenario)[feature] == value
    if plain is not None:
        assert _shape(emu, kind, None)[feature] == plain


def test_usage_on_a_content_chunk_and_thinking_blocks_are_named() -> None:
    """Variants the emulator does not produce: written out by hand."""
    stream = (
        'data: {"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":'
        '[{"type":"text","text":"hm"}]}]},"finish_reason":null}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{"content":"4"},"finish_reason":null}],'
        '"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'
        'data: {"object":"error","message":"boom","type":"BadRequestError","code":400}\n\n'
    )
    features = shape_of(200, {"content-type": "text/event-stream"}, stream).features
    assert features["usage arrives"] == "on a content chunk"
    assert features["reasoning arrives"] == "thinking content blocks"
    assert features["errors in stream"] == 'vLLM {"object":"error","message":...}'
    assert features["SSE [DONE]"] == "none"
    assert features["SSE comment lines"] == "none"


def test_a_body_that_is_not_utf8_is_flagged() -> None:
    features = shape_of(200, {}, b'{"a": "\xff"}'.decode("utf-8", errors="replace")).features
    assert features["body encoding"].startswith("not valid UTF-8")


def test_filler_before_a_json_body_is_named_and_skipped() -> None:
    body = ': OPENROUTER PROCESSING\n\n\n{"choices": []}'
    features = shape_of(200, {"content-type": "application/json"}, body).features
    assert features["body kind"] == "JSON"
    assert features["filler before the body"] == "blank lines + comment lines"
    plain = shape_of(200, {"content-type": "application/json"}, '{"choices": []}').features
    assert plain["filler before the body"] == "none"
