"""ModelsLabLLM and every reasoning shape, against the emulator: Mistral thinking blocks, a
`<think>` that never closes, `</think>` alone, and an answer cut while still reasoning
(`reasoning_state` in `raw` and `additional_kwargs`, plus a warning naming max_tokens), for
chat, stream_chat, achat, astream_chat and complete alike."""

from __future__ import annotations

import logging
import uuid

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ThinkingBlock

from llama_index_modelslab import ModelsLabLLM

from .helpers import MakeLLM

MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"
DEEPSEEK = "deepseek-deepseek-r1-distill-llama-70b"
REASONING = "The user wrote 2 words. I will answer plainly."
ANSWER = "You said: Hello there"
HELLO = [ChatMessage(role="user", content="Hello there")]

# (scenario, model, max_tokens, content, reasoning, reasoning_state)
SHAPES = [
    ("thinking-blocks", LLAMA, None, ANSWER, REASONING, None),
    ("unterminated-think", MAGISTRAL, None, f"{REASONING}\n\n{ANSWER}", None, "unterminated"),
    ("close-only-think", DEEPSEEK, None, ANSWER, REASONING, None),
    ("thinking-blocks", MAGISTRAL, 3, "", "The user wrote", "cut"),
    ("", MAGISTRAL, 3, "", "The user wrote", "cut"),
    ("close-only-think", DEEPSEEK, 3, "", "The user wrote", "cut"),
]
PARAMS = ("name", "model", "max_tokens", "content", "reasoning", "state")


def make(make_llm: MakeLLM, name: str, model: str, max_tokens: int | None) -> ModelsLabLLM:
    scenario = f"{name};id={uuid.uuid4().hex[:8]}" if name else None
    return make_llm(scenario, model=model, max_tokens=max_tokens)


def check(response: ChatResponse, content: str, reasoning: str | None, state: str | None) -> None:
    assert (response.message.content or "") == content
    thinking = "".join(
        b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock)
    )
    assert thinking == (content if reasoning is None else reasoning)
    assert response.raw.get("reasoning_state") == state
    assert response.additional_kwargs.get("reasoning_state") == state


def cut_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1 for r in caplog.records if r.levelno == logging.WARNING and "max_tokens" in r.getMessage()
    )


@pytest.mark.parametrize(PARAMS, SHAPES)
def test_chat_stream_chat_and_complete(
    make_llm: MakeLLM,
    caplog: pytest.LogCaptureFixture,
    name: str,
    model: str,
    max_tokens: int | None,
    content: str,
    reasoning: str | None,
    state: str | None,
) -> None:
    llm = make(make_llm, name, model, max_tokens)
    with caplog.at_level(logging.WARNING):
        check(llm.chat(HELLO), content, reasoning, state)
        responses = list(llm.stream_chat(HELLO))
        completed = llm.complete("Hello there")
    check(responses[-1], content, reasoning, state)
    assert "".join(r.delta or "" for r in responses) == content
    assert all("reasoning_state" not in r.additional_kwargs for r in responses[:-1])
    assert completed.text == content
    assert completed.additional_kwargs.get("reasoning_state") == state
    assert cut_warnings(caplog) == (3 if state == "cut" else 0)


@pytest.mark.parametrize(PARAMS, SHAPES)
async def test_achat_and_astream_chat(
    make_llm: MakeLLM,
    caplog: pytest.LogCaptureFixture,
    name: str,
    model: str,
    max_tokens: int | None,
    content: str,
    reasoning: str | None,
    state: str | None,
) -> None:
    llm = make(make_llm, name, model, max_tokens)
    with caplog.at_level(logging.WARNING):
        check(await llm.achat(HELLO), content, reasoning, state)
        stream = await llm.astream_chat(HELLO)
        responses = [response async for response in stream]
        completed = await llm.astream_complete("Hello there")
        last = [response async for response in completed][-1]
    check(responses[-1], content, reasoning, state)
    assert last.text == content and last.additional_kwargs.get("reasoning_state") == state
    assert cut_warnings(caplog) == (3 if state == "cut" else 0)
