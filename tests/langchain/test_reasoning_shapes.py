"""ChatModelsLab and every reasoning shape, against the emulator: Mistral thinking blocks, a
`<think>` that never closes, `</think>` alone, and an answer cut while still reasoning
(`response_metadata["reasoning_state"]` plus a warning naming max_tokens), for invoke, stream,
ainvoke and astream alike."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from tests.support.langchain_streams import aggregate
from tests.support.model_defaults import file_defaults
from tests.support.models import MakeChatModel
from tests.support.reasoning_shapes import (
    ADAPTER_SHAPES,
    ANSWER,
    MAGISTRAL,
    REASONING,
    Shape,
    shape_id,
)

KEY = "test-key-reasoning-shapes-01"


chat_model_defaults = file_defaults(api_key=KEY)


def check(message: AIMessage, shape: Shape) -> None:
    assert message.content == shape.content
    assert message.additional_kwargs.get("reasoning_content", "") == shape.expected_reasoning
    assert message.response_metadata.get("reasoning_state") == shape.state
    assert message.response_metadata["finish_reason"] == shape.finish_reason


def cut_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno == logging.WARNING and "max_tokens" in r.getMessage()
    ]


@pytest.mark.parametrize("shape", ADAPTER_SHAPES, ids=shape_id)
def test_invoke_and_stream(
    make_chat_model: MakeChatModel, caplog: pytest.LogCaptureFixture, shape: Shape
) -> None:
    llm = make_chat_model(shape.name, model=shape.model, max_tokens=shape.max_tokens)
    with caplog.at_level(logging.WARNING):
        invoked = llm.invoke("Hello there")
        chunks = list(llm.stream("Hello there"))
    check(invoked, shape)
    streamed = aggregate(chunks)
    check(streamed, shape)
    assert len(cut_warnings(caplog)) == (2 if shape.state == "cut" else 0)
    assert all("reasoning_state" not in c.response_metadata for c in chunks[:-1])


@pytest.mark.parametrize("shape", ADAPTER_SHAPES, ids=shape_id)
async def test_ainvoke_and_astream(
    make_chat_model: MakeChatModel, caplog: pytest.LogCaptureFixture, shape: Shape
) -> None:
    llm = make_chat_model(shape.name, model=shape.model, max_tokens=shape.max_tokens)
    with caplog.at_level(logging.WARNING):
        invoked = await llm.ainvoke("Hello there")
        chunks = [chunk async for chunk in llm.astream("Hello there")]
    check(invoked, shape)
    check(aggregate(chunks), shape)
    assert len(cut_warnings(caplog)) == (2 if shape.state == "cut" else 0)
    await llm.aclose()


def test_unterminated_stream_sends_the_answer_in_the_last_text_chunk(
    make_chat_model: MakeChatModel,
) -> None:
    chunks = list(
        make_chat_model("unterminated-think", model=MAGISTRAL, max_tokens=None).stream(
            "Hello there"
        )
    )
    texts = [c for c in chunks if c.content]
    assert len(texts) == 1 and texts[0].content == f"{REASONING}\n\n{ANSWER}"
    reasoning_chunks = [c for c in chunks if c.additional_kwargs.get("reasoning_content")]
    assert chunks.index(reasoning_chunks[-1]) < chunks.index(texts[0])  # reasoning went first
    assert chunks[-1].response_metadata["reasoning_state"] == "unterminated"


def test_plain_answers_carry_no_reasoning_state(make_chat_model: MakeChatModel) -> None:
    message: Any = make_chat_model("", model=MAGISTRAL, max_tokens=None).invoke("Hello there")
    assert message.content == ANSWER
    assert "reasoning_state" not in message.response_metadata
