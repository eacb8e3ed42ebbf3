"""Protocol variants decode to the same answer as the plain protocol."""

from __future__ import annotations

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import ModelsLabClient, accumulate

from ._helpers import MAGISTRAL, payload, scenario

KEY = "sk-variants-0000"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    }
    for name in ("add", "multiply")
]


def answer(emulator: Emulator, headers: dict[str, str], stream: bool, **params: object) -> tuple:
    text = params.pop("text", "Explain unicode héllo 你好 please")
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers) as c:
        body = payload(str(text), model=MAGISTRAL, **params)
        result = accumulate(c.stream_chat(body)) if stream else c.chat(body)
    choice = result.first
    calls = [(t.name, t.arguments) for t in choice.tool_calls]
    return choice.content, choice.reasoning, calls, choice.finish_reason


@pytest.mark.parametrize(
    "name",
    [
        "content-blocks",
        "reasoning-field",
        "reasoning-openrouter",
        "think-split",
        "no-usage",
        "usage-on-last-chunk",
        "crlf",
        "cr",
        "no-space",
        "multiline-data",
        "unicode",
        "extra-fields",
        "openai-error",
    ],
)
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
