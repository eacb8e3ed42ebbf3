"""ChatModelsLab and every reasoning shape, against the emulator: Mistral thinking blocks, a
`<think>` that never closes, `</think>` alone, and an answer cut while still reasoning
(`response_metadata["reasoning_state"]` plus a warning naming max_tokens), for invoke, stream,
ainvoke and astream alike."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_modelslab import ChatModelsLab

KEY = "test-key-reasoning-shapes-01"
MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"
DEEPSEEK = "deepseek-deepseek-r1-distill-llama-70b"
REASONING = "The user wrote 2 words. I will answer plainly."
ANSWER = "You said: Hello there"

# (scenario, model, max_tokens, content, reasoning, reasoning_state)
SHAPES = [
    ("thinking-blocks", LLAMA, None, ANSWER, REASONING, None),
    ("unterminated-think", MAGISTRAL, None, f"{REASONING}\n\n{ANSWER}", None, "unterminated"),
    ("close-only-think", DEEPSEEK, None, ANSWER, REASONING, None),
    ("thinking-blocks", MAGISTRAL, 3, "", "The user wrote", "cut"),
    ("", MAGISTRAL, 3, "", "The user wrote", "cut"),
    ("close-only-think", DEEPSEEK, 3, "", "The user wrote", "cut"),
]


def make(base_url: str, name: str, model: str, max_tokens: int | None) -> ChatModelsLab:
    headers = {"X-Emulator-Scenario": f"{name};id={uuid.uuid4().hex[:8]}"} if name else None
    return ChatModelsLab(
        api_key=KEY, base_url=base_url, model=model, max_tokens=max_tokens, default_headers=headers
    )


def total(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


def check(message: AIMessage, content: str, reasoning: str | None, state: str | None) -> None:
    assert message.content == content
    assert message.additional_kwargs.get("reasoning_content", "") == (
        content if reasoning is None else reasoning
    )
    assert message.response_metadata.get("reasoning_state") == state
    assert message.response_metadata["finish_reason"] == ("length" if state == "cut" else "stop")


def cut_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno == logging.WARNING and "max_tokens" in r.getMessage()
    ]


@pytest.mark.parametrize(("name", "model", "max_tokens", "content", "reasoning", "state"), SHAPES)
def test_invoke_and_stream(
    base_url: str,
    caplog: pytest.LogCaptureFixture,
    name: str,
    model: str,
    max_tokens: int | None,
    content: str,
    reasoning: str | None,
    state: str | None,
) -> None:
    llm = make(base_url, name, model, max_tokens)
    with caplog.at_level(logging.WARNING):
        invoked = llm.invoke("Hello there")
        chunks = list(llm.stream("Hello there"))
    check(invoked, content, reasoning, state)
    streamed = total(chunks)
    check(streamed, content, reasoning, state)
    assert len(cut_warnings(caplog)) == (2 if state == "cut" else 0)
    assert all("reasoning_state" not in c.response_metadata for c in chunks[:-1])


@pytest.mark.parametrize(("name", "model", "max_tokens", "content", "reasoning", "state"), SHAPES)
async def test_ainvoke_and_astream(
    base_url: str,
    caplog: pytest.LogCaptureFixture,
    name: str,
    model: str,
    max_tokens: int | None,
    content: str,
    reasoning: str | None,
    state: str | None,
) -> None:
    llm = make(base_url, name, model, max_tokens)
    with caplog.at_level(logging.WARNING):
        invoked = await llm.ainvoke("Hello there")
        chunks = [chunk async for chunk in llm.astream("Hello there")]
    check(invoked, content, reasoning, state)
    check(total(chunks), content, reasoning, state)
    assert len(cut_warnings(caplog)) == (2 if state == "cut" else 0)
    await llm.aclose()


def test_unterminated_stream_sends_the_answer_in_the_last_text_chunk(base_url: str) -> None:
    chunks = list(make(base_url, "unterminated-think", MAGISTRAL, None).stream("Hello there"))
    texts = [c for c in chunks if c.content]
    assert len(texts) == 1 and texts[0].content == f"{REASONING}\n\n{ANSWER}"
    reasoning_chunks = [c for c in chunks if c.additional_kwargs.get("reasoning_content")]
    assert chunks.index(reasoning_chunks[-1]) < chunks.index(texts[0])  # reasoning went first
    assert chunks[-1].response_metadata["reasoning_state"] == "unterminated"


def test_plain_answers_carry_no_reasoning_state(base_url: str) -> None:
    message: Any = make(base_url, "", MAGISTRAL, None).invoke("Hello there")
    assert message.content == ANSWER
    assert "reasoning_state" not in message.response_metadata
