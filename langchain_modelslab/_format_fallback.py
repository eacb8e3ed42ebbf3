"""The json_schema → JSON mode → function calling chain behind `method="json_schema"`.

Some providers ModelsLab routes to refuse a `json_schema` `response_format` (ModelsLab answers
"Provider returned error", usually with HTTP 200), and a few refuse `json_object` too. The
runnable here tries each structured-output chain in turn, moves on only when the transport says
the format was refused (`modelslab_transport.is_format_refusal`), and remembers the chain that
worked, so later calls of the same runnable go straight to it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from modelslab_transport.models import StructuredMethod, is_format_refusal, json_mode_instruction

__all__ = ["FormatFallback", "schema_instruction"]

logger = logging.getLogger("langchain_modelslab")
_END = object()


def schema_instruction(
    model: BaseChatModel, schema: dict[str, Any], name: str
) -> Runnable[LanguageModelInput, list[BaseMessage]]:
    """A step that tells the model the schema in the system message (JSON mode has no schema)."""
    instruction = json_mode_instruction(schema, name=name)

    def add(value: LanguageModelInput) -> list[BaseMessage]:
        messages = model._convert_input(value).to_messages()
        first = messages[0] if messages else None
        # Mistral templates take one system message, first: extend it rather than add another.
        if isinstance(first, SystemMessage) and isinstance(first.content, str):
            merged = f"{first.content}\n\n{instruction}" if first.content else instruction
            return [first.model_copy(update={"content": merged}), *messages[1:]]
        return [SystemMessage(instruction), *messages]

    return RunnableLambda(add, name="ModelsLabSchemaInstruction")


class FormatFallback(Runnable[LanguageModelInput, Any]):
    """Run the first structured-output chain the server accepts (see the module docstring)."""

    name = "ModelsLabStructuredOutput"

    def __init__(
        self, steps: Sequence[tuple[StructuredMethod, Runnable[Any, Any]]], *, model: str
    ) -> None:
        self._steps = list(steps)
        self._model = model
        # Index of the first chain to try: moves forward once a format has been refused.
        self._start = 0

    @property
    def InputType(self) -> Any:
        return self._steps[0][1].InputType

    @property
    def OutputType(self) -> Any:
        return self._steps[0][1].OutputType

    def _advance(self, index: int, error: BaseException) -> bool:
        """Whether to try the chain after `index`, given that it failed with `error`."""
        if index + 1 >= len(self._steps) or not is_format_refusal(error):
            return False
        failed, used = self._steps[index][0], self._steps[index + 1][0]
        status = getattr(error, "status_code", None)
        # Only method names, model and status: the message could quote the request.
        logger.warning(
            "ModelsLab refused structured output method %r for model %s (HTTP %s); "
            "using %r for this and later calls of this runnable",
            failed,
            self._model,
            status if status is not None else "-",
            used,
        )
        self._start = max(self._start, index + 1)
        return True

    def __repr__(self) -> str:
        methods = [method for method, _ in self._steps]
        return f"FormatFallback(methods={methods!r}, model={self._model!r}, start={self._start})"

    # Each public entry point opens one run (named ModelsLabStructuredOutput in traces) and
    # runs the chains as its children: LangChain passes the child config as `config`.

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        return self._call_with_config(partial(self._invoke, kwargs=kwargs), input, config)

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        return await self._acall_with_config(partial(self._ainvoke, kwargs=kwargs), input, config)

    def stream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        yield from self.transform(iter([input]), config, **kwargs)

    def transform(
        self,
        input: Iterator[LanguageModelInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        run = partial(self._stream, kwargs=kwargs)
        yield from self._transform_stream_with_config(input, run, config)

    async def astream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async def once() -> AsyncIterator[LanguageModelInput]:
            yield input

        async for chunk in self.atransform(once(), config, **kwargs):
            yield chunk

    async def atransform(
        self,
        input: AsyncIterator[LanguageModelInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        run = partial(self._astream, kwargs=kwargs)
        async for chunk in self._atransform_stream_with_config(input, run, config):
            yield chunk

    @contextmanager
    def _on_refusal(self, index: int) -> Iterator[None]:
        """Swallow chain `index`'s error when the next chain is to take over (`_advance`)."""
        try:
            yield
        except Exception as exc:
            if not self._advance(index, exc):
                raise

    def _invoke(
        self, input: LanguageModelInput, config: RunnableConfig, kwargs: dict[str, Any]
    ) -> Any:
        for index in range(self._start, len(self._steps)):
            with self._on_refusal(index):
                return self._steps[index][1].invoke(input, config, **kwargs)
        raise AssertionError("unreachable: the last chain never falls back")

    async def _ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig, kwargs: dict[str, Any]
    ) -> Any:
        for index in range(self._start, len(self._steps)):
            with self._on_refusal(index):
                return await self._steps[index][1].ainvoke(input, config, **kwargs)
        raise AssertionError("unreachable: the last chain never falls back")

    # A refusal comes before any output: only the first chunk's pull may fall back. Once output
    # has been yielded, another method cannot take over.

    def _stream(
        self, inputs: Iterator[LanguageModelInput], config: RunnableConfig, kwargs: dict[str, Any]
    ) -> Iterator[Any]:
        value = _merged(list(inputs))
        for index in range(self._start, len(self._steps)):
            with self._on_refusal(index):
                chunks = self._steps[index][1].stream(value, config, **kwargs)
                first = next(chunks, _END)
                break
        else:
            raise AssertionError("unreachable: the last chain never falls back")
        if first is not _END:
            yield first
            yield from chunks

    async def _astream(
        self,
        inputs: AsyncIterator[LanguageModelInput],
        config: RunnableConfig,
        kwargs: dict[str, Any],
    ) -> AsyncIterator[Any]:
        value = _merged([item async for item in inputs])
        for index in range(self._start, len(self._steps)):
            with self._on_refusal(index):
                chunks = self._steps[index][1].astream(value, config, **kwargs)
                first = await anext(chunks, _END)
                break
        else:
            raise AssertionError("unreachable: the last chain never falls back")
        if first is not _END:
            yield first
            async for chunk in chunks:
                yield chunk


def _merged(items: list[Any]) -> Any:
    """One input from a streamed input (a prompt value or message list arrives whole)."""
    if not items:
        raise ValueError("structured output needs an input")
    value = items[0]
    for item in items[1:]:
        value = value + item
    return value
