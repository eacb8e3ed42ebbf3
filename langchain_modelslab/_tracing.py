"""The prompt being traced, for LangSmith params that depend on it (`ls_max_tokens`).

LangChain computes a call's LangSmith params (`_get_ls_params`) before `_generate`/`_stream`,
without the messages; the `max_tokens` sent by default is computed from the prompt. The entry
points below make the prompt visible to `_get_ls_params` while LangChain computes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import LLMResult

__all__ = ["PromptTracing", "keep_built", "take_built", "traced_prompt"]

_PROMPT: ContextVar[list[BaseMessage] | None] = ContextVar("modelslab_traced_prompt", default=None)
_END = object()
# The body `_get_ls_params` built for the traced prompt, taken by the call it was built for:
# LangChain asks for the params right before generating, so one build serves both.
_BUILT: ContextVar[tuple[Any, ...] | None] = ContextVar("modelslab_traced_body", default=None)


def traced_prompt() -> list[BaseMessage] | None:
    """The messages of the call whose LangSmith params are being computed, if known."""
    return _PROMPT.get()


@contextmanager
def _tracing(prompt: list[BaseMessage] | None) -> Iterator[None]:
    """Make `prompt` the traced prompt while the block runs; a body kept in it ends with it."""
    tokens = _PROMPT.set(prompt), _BUILT.set(None)
    try:
        yield
    finally:
        _PROMPT.reset(tokens[0])
        _BUILT.reset(tokens[1])


def keep_built(
    model: object,
    messages: list[BaseMessage],
    stop: Any,
    kwargs: dict[str, Any],
    built: tuple[str, Any],
) -> None:
    """Keep the (model id, body) `model` built for the traced prompt with this stop and these
    keywords, for this call only (the entry points below drop it when the call ends)."""
    _BUILT.set((model, messages, stop, kwargs, built))


def take_built(
    model: object, messages: list[BaseMessage], stop: Any, kwargs: dict[str, Any]
) -> tuple[str, Any] | None:
    """The (model id, body) this very model kept for this very call (the traced prompt, whose
    messages LangChain normalizes into a new list: equal ones, the same stop and keywords),
    once; else None."""
    kept = _BUILT.get()
    if kept is None or kept[0] is not model or kept[1] is not _PROMPT.get():
        return None
    _BUILT.set(None)
    return kept[4] if (kept[2], kept[3], kept[1]) == (stop, kwargs, messages) else None


class PromptTracing(BaseChatModel):
    """A chat model whose `_get_ls_params` sees the prompt (one prompt per call; a batch of
    several through `generate` leaves it unknown). Every other argument passes through."""

    def generate(self, messages: list[list[BaseMessage]], *args: Any, **kwargs: Any) -> LLMResult:
        # The context variables set by hand: every invoke comes here, a context manager costs.
        token, built = _PROMPT.set(messages[0] if len(messages) == 1 else None), _BUILT.set(None)
        try:
            return super().generate(messages, *args, **kwargs)
        finally:
            _PROMPT.reset(token)
            _BUILT.reset(built)

    async def agenerate(
        self, messages: list[list[BaseMessage]], *args: Any, **kwargs: Any
    ) -> LLMResult:
        token, built = _PROMPT.set(messages[0] if len(messages) == 1 else None), _BUILT.set(None)
        try:
            return await super().agenerate(messages, *args, **kwargs)
        finally:
            _PROMPT.reset(token)
            _BUILT.reset(built)

    def stream(
        self, input: LanguageModelInput, *args: Any, **kwargs: Any
    ) -> Iterator[AIMessageChunk]:
        chunks = super().stream(input, *args, **kwargs)
        # Only the first pull is wrapped: `chain` hands the rest over in C, no hop per chunk.
        return _Chunks(self._first_traced(input, chunks), chunks)

    def _first_traced(
        self, input: LanguageModelInput, chunks: Iterator[AIMessageChunk]
    ) -> Iterator[AIMessageChunk]:
        # LangChain computes the params when the stream starts: the first chunk's pull.
        with _tracing(self._convert_input(input).to_messages()):
            first = next(chunks, _END)
        if isinstance(first, AIMessageChunk):
            yield first

    async def astream(
        self, input: LanguageModelInput, *args: Any, **kwargs: Any
    ) -> AsyncIterator[AIMessageChunk]:
        chunks = super().astream(input, *args, **kwargs)
        with _tracing(self._convert_input(input).to_messages()):
            first = await anext(chunks, _END)
        if isinstance(first, AIMessageChunk):
            yield first
            async for chunk in chunks:
                yield chunk


class _Chunks(chain[AIMessageChunk]):
    """`chain`'s own `__next__`, plus the `close()` of the generator it stands for, so a
    consumer that stops early still closes the stream (and frees its slot) at once."""

    def __init__(self, *parts: Iterator[AIMessageChunk]) -> None:
        self._parts = parts

    def close(self) -> None:
        for part in self._parts:
            close = getattr(part, "close", None)
            if close is not None:
                close()
