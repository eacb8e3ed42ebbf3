"""ModelsLabLLM and every reasoning shape, against the emulator: Mistral thinking blocks, a
`<think>` that never closes, `</think>` alone, and an answer cut while still reasoning
(`reasoning_state` in `raw` and `additional_kwargs`, plus a warning naming max_tokens), for
chat, stream_chat, achat, astream_chat and complete alike."""

from __future__ import annotations

import logging

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ThinkingBlock

from llama_index_modelslab import ModelsLabLLM
from tests.support.models import MakeLLM
from tests.support.reasoning_shapes import ADAPTER_SHAPES, Shape, shape_id
from tests.support.scenarios import unique

HELLO = [ChatMessage(role="user", content="Hello there")]


def make(make_llm: MakeLLM, shape: Shape) -> ModelsLabLLM:
    scenario = unique(shape.name) if shape.name else None
    return make_llm(scenario, model=shape.model, max_tokens=shape.max_tokens)


def check(response: ChatResponse, shape: Shape) -> None:
    assert (response.message.content or "") == shape.content
    thinking = "".join(
        b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock)
    )
    assert thinking == shape.expected_reasoning
    assert response.raw.get("reasoning_state") == shape.state
    assert response.additional_kwargs.get("reasoning_state") == shape.state


def cut_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1 for r in caplog.records if r.levelno == logging.WARNING and "max_tokens" in r.getMessage()
    )


@pytest.mark.parametrize("shape", ADAPTER_SHAPES, ids=shape_id)
def test_chat_stream_chat_and_complete(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture, shape: Shape
) -> None:
    llm = make(make_llm, shape)
    with caplog.at_level(logging.WARNING):
        check(llm.chat(HELLO), shape)
        responses = list(llm.stream_chat(HELLO))
        completed = llm.complete("Hello there")
    check(responses[-1], shape)
    assert "".join(r.delta or "" for r in responses) == shape.content
    assert all("reasoning_state" not in r.additional_kwargs for r in responses[:-1])
    assert completed.text == shape.content
    assert completed.additional_kwargs.get("reasoning_state") == shape.state
    assert cut_warnings(caplog) == (3 if shape.state == "cut" else 0)


@pytest.mark.parametrize("shape", ADAPTER_SHAPES, ids=shape_id)
async def test_achat_and_astream_chat(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture, shape: Shape
) -> None:
    llm = make(make_llm, shape)
    with caplog.at_level(logging.WARNING):
        check(await llm.achat(HELLO), shape)
        stream = await llm.astream_chat(HELLO)
        responses = [response async for response in stream]
        completed = await llm.astream_complete("Hello there")
        last = [response async for response in completed][-1]
    check(responses[-1], shape)
    assert (
        last.text == shape.content and last.additional_kwargs.get("reasoning_state") == shape.state
    )
    assert cut_warnings(caplog) == (3 if shape.state == "cut" else 0)
