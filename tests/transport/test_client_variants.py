"""Protocol variants decode to the same answer as the plain protocol."""

from __future__ import annotations

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    BadRequestError,
    ModelsLabClient,
    ModelsLabError,
    NotFoundError,
    RateLimitError,
    ServerError,
    accumulate,
)
from tests.support.tool_specs import INTEGER, function_tool
from tests.support.transport_calls import MAGISTRAL, payload, scenario

KEY = "sk-variants-0000"
TOOLS = [function_tool(name, a=INTEGER, b=INTEGER) for name in ("add", "multiply")]


def answer(emulator: Emulator, headers: dict[str, str], stream: bool, **params: object) -> tuple:
    text = params.pop("text", "Explain unicode héllo 你好 please")
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers) as c:
        body = payload(str(text), model=MAGISTRAL, **params)
        result = accumulate(c.stream_chat(body)) if stream else c.chat(body)
    choice = result.first
    calls = [(t.name, t.arguments) for t in choice.tool_calls]
    return choice.content, choice.reasoning, calls, choice.finish_reason


# Text variants, grouped by what they change: the message, its reasoning, its usage, the SSE framing.
TEXT_VARIANTS = [
    *("content-blocks", "unicode", "extra-fields"),
    *("reasoning-field", "reasoning-openrouter", "think-split"),
    *("no-usage", "usage-on-last-chunk"),
    *("crlf", "cr", "no-space", "multiline-data"),
]


@pytest.mark.parametrize("name", TEXT_VARIANTS)
@pytest.mark.parametrize("stream", [False, True])
def test_text_variants_match_the_plain_answer(name: str, stream: bool, emulator: Emulator) -> None:
    expected = answer(emulator, {}, stream=False)
    got = answer(emulator, scenario(name), stream=stream)
    if name == "unicode":
        assert got[0] and got[3] == "stop"  # the emulator's own unicode answer, decoded intact
        assert "\ufffd" not in got[0]
    else:
        assert got == expected


@pytest.mark.parametrize("name", ["multi-tool-chunk", "repeat-tool-id", "no-tool-index"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_variants_assemble_the_same_calls(
    name: str, stream: bool, emulator: Emulator
) -> None:
    text = "Use add and multiply on 3 and 4"
    expected = answer(emulator, {}, stream=False, text=text, tools=TOOLS)
    got = answer(emulator, scenario(name), stream=stream, text=text, tools=TOOLS)
    assert [c[0] for c in got[2]] == ["add", "multiply"]
    assert got[2] == expected[2]
    assert got[3] == "tool_calls"


# Error-body shapes change only error replies: each shape, with an error that carries a message,
# a status and a retry hint, must give the same typed error (a successful reply is unaffected).
ERROR_SHAPES = ["", "openai-error", "legacy-messege"]


@pytest.mark.parametrize("shape", ERROR_SHAPES)
@pytest.mark.parametrize("stream", [False, True])
def test_error_shapes_give_the_same_typed_error(
    shape: str, stream: bool, emulator: Emulator
) -> None:
    def fail(name: str, error_type: type[ModelsLabError], **params: object) -> ModelsLabError:
        headers = scenario(name, **params)
        if shape:
            headers["X-Emulator-Scenario"] += f", {shape}"
        with (
            ModelsLabClient(
                api_key=KEY,
                base_url=emulator.base_url,
                default_headers=headers,
                max_retries=0,
                queue_wait_budget=0,
            ) as client,
            pytest.raises(error_type) as info,
        ):
            body = payload("shapes", model=MAGISTRAL)
            accumulate(client.stream_chat(body)) if stream else client.chat(body)
        return info.value

    bad = fail("http-error", BadRequestError, status=400, message="Bad field temperature")
    assert bad.message == "Bad field temperature" and bad.status_code == 400
    limited = fail("rate-limit", RateLimitError, times=-1, retry_after=7)
    assert isinstance(limited, RateLimitError) and limited.retry_after == 7
    assert "Maximum 5 queued requests" in limited.message
    missing = fail("http-error", NotFoundError, status=404, message="Model not found: x")
    assert missing.message == "Model not found: x"
    if stream:
        mid = fail("error-mid-stream", ServerError)
        assert "Provider returned error" in mid.message
