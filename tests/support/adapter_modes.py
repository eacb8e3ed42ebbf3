"""One way to build and call either adapter in any mode, for the reliability tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, ThinkingBlock

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import SCENARIO_HEADER
from tests.support.emulator_log import chat_log, settled
from tests.support.scenarios import scenario as scenario_value

__all__ = ["ADAPTERS", "MODES", "Answer", "call", "chat_log", "make", "scenario", "settled"]

MAGISTRAL = "mistralai-Magistral-Small-2506"
ADAPTERS = ("langchain", "llama_index")
# sync/async x non-streaming/streaming
MODES = ("sync", "sync-stream", "async", "async-stream")
scenario = scenario_value


def make(adapter: str, **options: Any) -> Any:
    """A ChatModelsLab or a ModelsLabLLM; `scenario=` becomes the X-Emulator-Scenario header."""
    value = options.pop("scenario", None)
    if value:
        options["default_headers"] = {**options.get("default_headers", {}), SCENARIO_HEADER: value}
    if adapter == "langchain":
        return ChatModelsLab(**options)
    return ModelsLabLLM(**options)


@dataclass
class Answer:
    """What a call produced: the answer, the reasoning, and every streamed piece in order."""

    text: str = ""
    reasoning: str = ""
    pieces: list[str] = field(default_factory=list)
    final_text: str | None = None  # the framework's own assembled message, when it has one


def _lc_piece(chunk: Any, answer: Answer) -> None:
    text = chunk.content if isinstance(chunk.content, str) else ""
    reasoning = chunk.additional_kwargs.get("reasoning_content", "")
    answer.text += text
    answer.reasoning += reasoning
    if text or reasoning:
        answer.pieces.append(text or reasoning)


def _li_piece(response: Any, answer: Answer) -> None:
    text = response.delta or ""
    reasoning = response.additional_kwargs.get("thinking_delta") or ""
    answer.text += text
    answer.reasoning += reasoning
    if text or reasoning:
        answer.pieces.append(text or reasoning)
    answer.final_text = response.message.content or ""


def _li_reasoning(message: Any) -> str:
    return "".join(b.content or "" for b in message.blocks if isinstance(b, ThinkingBlock))


def _messages(prompt: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=prompt)]


def call(adapter: str, mode: str, llm: Any, prompt: str, answer: Answer | None = None) -> Answer:
    """Run one call; streamed pieces land in `answer` as they arrive (kept if it raises)."""
    answer = answer if answer is not None else Answer()
    if mode.startswith("async"):
        asyncio.run(acall(adapter, mode, llm, prompt, answer))
        return answer
    if adapter == "langchain":
        if mode == "sync":
            message = llm.invoke(prompt)
            answer.text = message.content
            answer.reasoning = message.additional_kwargs.get("reasoning_content", "")
        else:
            for chunk in llm.stream(prompt):
                _lc_piece(chunk, answer)
        return answer
    if mode == "sync":
        response = llm.chat(_messages(prompt))
        answer.text = response.message.content or ""
        answer.reasoning = _li_reasoning(response.message)
    else:
        for response in llm.stream_chat(_messages(prompt)):
            _li_piece(response, answer)
    return answer


async def acall(
    adapter: str, mode: str, llm: Any, prompt: str, answer: Answer | None = None
) -> Answer:
    """The async half of `call` (mode "async" or "async-stream")."""
    answer = answer if answer is not None else Answer()
    try:
        if adapter == "langchain":
            if mode == "async":
                message = await llm.ainvoke(prompt)
                answer.text = message.content
                answer.reasoning = message.additional_kwargs.get("reasoning_content", "")
            else:
                async for chunk in llm.astream(prompt):
                    _lc_piece(chunk, answer)
        elif mode == "async":
            response = await llm.achat(_messages(prompt))
            answer.text = response.message.content or ""
            answer.reasoning = _li_reasoning(response.message)
        else:
            async for response in await llm.astream_chat(_messages(prompt)):
                _li_piece(response, answer)
    finally:
        if adapter == "llama_index":
            await llm.aclose()
    return answer
