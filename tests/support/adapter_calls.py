"""One call through each adapter in each of its four modes (sync, async, streamed, async
streamed), as the Mistral-host and fidelity tests make them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable
from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.tools.types import BaseTool

from llama_index_modelslab import ModelsLabLLM

__all__ = [
    "CHAT_MODEL_MODES",
    "LLM_MODES",
    "run_chat_model",
    "run_llm",
]

CHAT_MODEL_MODES = ("invoke", "ainvoke", "stream", "astream")
LLM_MODES = ("chat", "achat", "stream_chat", "astream_chat")


def run_chat_model(
    llm: Runnable[Any, Any], mode: str, messages: Sequence[BaseMessage]
) -> AIMessage:
    """One LangChain call through `mode` (a model or one with tools bound); for streams, the
    chunks added up."""
    if mode == "invoke":
        return llm.invoke(list(messages))  # type: ignore[no-any-return]
    if mode == "ainvoke":
        return asyncio.run(llm.ainvoke(list(messages)))  # type: ignore[no-any-return]
    if mode == "stream":
        chunks: list[AIMessageChunk] = list(llm.stream(list(messages)))
    else:

        async def collect() -> list[AIMessageChunk]:
            return [chunk async for chunk in llm.astream(list(messages))]

        chunks = asyncio.run(collect())
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def run_llm(
    llm: ModelsLabLLM,
    mode: str,
    messages: Sequence[ChatMessage],
    tools: Sequence[BaseTool] | None = None,
) -> ChatResponse:
    """One LlamaIndex chat through `mode` (`*_with_tools` when `tools` are offered); for
    streams, the last response (the whole message)."""
    history = list(messages)
    if tools is not None:
        if mode == "chat":
            return llm.chat_with_tools(list(tools), chat_history=history)
        if mode == "achat":
            return asyncio.run(llm.achat_with_tools(list(tools), chat_history=history))
        if mode == "stream_chat":
            return list(llm.stream_chat_with_tools(list(tools), chat_history=history))[-1]

        async def collect_with_tools() -> ChatResponse:
            stream = await llm.astream_chat_with_tools(list(tools), chat_history=history)
            return [r async for r in stream][-1]

        return asyncio.run(collect_with_tools())
    if mode == "chat":
        return cast(ChatResponse, llm.chat(history))
    if mode == "achat":
        return cast(ChatResponse, asyncio.run(llm.achat(history)))
    if mode == "stream_chat":
        return cast(ChatResponse, list(llm.stream_chat(history))[-1])

    async def collect() -> ChatResponse:
        responses: list[ChatResponse] = [r async for r in await llm.astream_chat(history)]
        return responses[-1]

    return asyncio.run(collect())
