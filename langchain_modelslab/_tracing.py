"""The prompt being traced, for LangSmith params that depend on it (`ls_max_tokens`).

LangChain computes a call's LangSmith params (`_get_ls_params`) before `_generate`/`_stream`,
without the messages; the `max_tokens` sent by default is computed from the prompt. The entry
points below make the prompt visible to `_get_ls_params` while LangChain computes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from itertools import chain
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables import RunnableConfig

__all__ = ["PromptTracing", "traced_prompt"]

_PROMPT: ContextVar[list[BaseMessage] | None] = ContextVar("modelslab_traced_prompt", default=None)
_END = object()


def traced_prompt() -> list[BaseMessage] | None:
    """The messages of the call whose LangSmith params are being computed, if known."""
    return _PROMPT.get()


class PromptTracing(BaseChatModel):
    """A chat model whose `_get_ls_params` sees the prompt (one prompt per call; a batch of
    several through `generate` leaves it unknown)."""

    def generate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        token = _PROMPT.set(messages[0] if len(messages) == 1 else None)
        try:
            return super().generate(messages, stop, callbacks, **kwargs)
        finally:
            _PROMPT.reset(token)

    async def agenerate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        token = _PROMPT.set(messages[0] if len(messages) == 1 else None)
        try:
            return await super().agenerate(messages, stop, callbacks, **kwargs)
        finally:
            _PROMPT.reset(token)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        chunks = super().stream(input, config, stop=stop, **kwargs)
        # Only the first pull is wrapped: `chain` hands the rest over in C, no hop per chunk.
        return chain(self._first_traced(input, chunks), chunks)

    def _first_traced(
        self, input: LanguageModelInput, chunks: Iterator[AIMessageChunk]
    ) -> Iterator[AIMessageChunk]:
        # LangChain computes the params when the stream starts: the first chunk's pull.
        token = _PROMPT.set(self._convert_input(input).to_messages())
        try:
            first = next(chunks, _END)
        finally:
            _PROMPT.reset(token)
        if isinstance(first, AIMessageChunk):
            yield first

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        chunks = super().astream(input, config, stop=stop, **kwargs)
        token = _PROMPT.set(self._convert_input(input).to_messages())
        try:
            first = await anext(chunks, _END)
        finally:
            _PROMPT.reset(token)
        if isinstance(first, AIMessageChunk):
            yield first
            async for chunk in chunks:
                yield chunk
