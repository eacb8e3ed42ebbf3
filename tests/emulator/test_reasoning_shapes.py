"""The reasoning-shape scenarios and the template-opened model, as seen on the wire."""

from __future__ import annotations

from typing import Any

import pytest

from modelslab_emulator import Emulator
from tests.support.stdlib_http import LLAMA, MAGISTRAL, chat, stream_chunks, streamed_text, user

DEEPSEEK = "deepseek-deepseek-r1-distill-llama-70b"
REASONING = "The user wrote 1 words. I will answer plainly."


def thinking_text(content: Any) -> str:
    return "".join(
        inner["text"]
        for block in content
        if block["type"] == "thinking"
        for inner in block["thinking"]
    )


def test_thinking_blocks_whole_message(emu: Emulator) -> None:
    message = chat(emu, "thinking-blocks", messages=user("hi")).json()["choices"][0]["message"]
    assert message["content"] == [
        {"type": "thinking", "thinking": [{"type": "text", "text": REASONING}]},
        {"type": "text", "text": "You said: hi"},
    ]


def test_thinking_blocks_stream_with_usage_on_the_finish_chunk(emu: Emulator) -> None:
    chunks, done = stream_chunks(emu, "thinking-blocks", messages=user("hi"))
    assert done
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    thoughts = [d["content"] for d in deltas if isinstance(d.get("content"), list)]
    assert all(len(t) == 1 and t[0]["type"] == "thinking" for t in thoughts)
    assert "".join(thinking_text(t) for t in thoughts) == REASONING
    assert "".join(d["content"] for d in deltas if isinstance(d.get("content"), str)) == (
        "You said: hi"
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and "usage" in chunks[-1]


def test_thinking_blocks_cut_inside_the_reasoning(emu: Emulator) -> None:
    choice = chat(emu, "thinking-blocks", messages=user("hi"), max_tokens=2).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == [
        {"type": "thinking", "thinking": [{"type": "text", "text": "The user"}]}
    ]


@pytest.mark.parametrize("model", [LLAMA, MAGISTRAL])
def test_unterminated_think(emu: Emulator, model: str) -> None:
    body = chat(emu, "unterminated-think", model_id=model, messages=user("hi")).json()
    choice = body["choices"][0]
    assert choice["message"]["content"] == f"<think>\n{REASONING}\n\nYou said: hi"
    assert choice["finish_reason"] == "stop"
    chunks, _ = stream_chunks(emu, "unterminated-think", model_id=model, messages=user("hi"))
    assert streamed_text(chunks) == choice["message"]["content"]


def test_close_only_think_and_the_template_opened_model(emu: Emulator) -> None:
    expected = f"{REASONING}\n</think>\n\nYou said: hi"
    for scenario, model in (("close-only-think", LLAMA), (None, DEEPSEEK)):
        choice = chat(emu, scenario, model_id=model, messages=user("hi")).json()["choices"][0]
        assert choice["message"]["content"] == expected
        chunks, _ = stream_chunks(emu, scenario, model_id=model, messages=user("hi"))
        assert streamed_text(chunks) == expected
    cut = chat(emu, None, model_id=DEEPSEEK, messages=user("hi"), max_tokens=2).json()
    assert cut["choices"][0]["message"]["content"] == "The user"
    assert cut["choices"][0]["finish_reason"] == "length"


def test_plain_models_do_not_think_without_a_shape_scenario(emu: Emulator) -> None:
    content = chat(emu, None, model_id=LLAMA, messages=user("hi")).json()["choices"][0]
    assert content["message"]["content"] == "You said: hi"
