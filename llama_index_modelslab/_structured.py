"""Streaming structured prediction through a forced function call.

LlamaIndex's FunctionCallingProgram streams with `tool_choice="auto"` (and, before 0.14.x, drops
any tool choice), so a model may answer in text and yield only empty objects. These helpers run
the same loop with the output class's tool required.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, TypeAlias

from llama_index.core.program.function_program import get_function_tool
from llama_index.core.program.utils import FlexibleModel, process_streaming_objects
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import Model

if TYPE_CHECKING:
    from .base import ModelsLabLLM

__all__ = ["astream_structured", "stream_structured"]

logger = logging.getLogger(__name__)

Partial: TypeAlias = Model | list[Model] | FlexibleModel | list[FlexibleModel]
# The program's own switches; the caller's llm_kwargs must not override the forced call.
_PROGRAM_KWARGS = ("tool_required", "tool_choice", "allow_parallel_tool_calls")


def _chat_kwargs(
    llm: ModelsLabLLM,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> dict[str, Any]:
    extra = {k: v for k, v in (llm_kwargs or {}).items() if k not in _PROGRAM_KWARGS}
    messages = llm._extend_messages(prompt.format_messages(llm=llm, **prompt_args))
    return {
        "tools": [get_function_tool(output_cls)],
        "chat_history": messages,
        "tool_required": True,
        "allow_parallel_tool_calls": False,
        **extra,
    }


def stream_structured(
    llm: ModelsLabLLM,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> Generator[Partial[Model], None, None]:
    """Yield ever more complete `output_cls` objects while the forced tool call streams in."""
    kwargs = _chat_kwargs(llm, output_cls, prompt, llm_kwargs, prompt_args)
    current: list[Any] | None = None
    for response in llm.stream_chat_with_tools(**kwargs):
        try:
            objects = process_streaming_objects(
                response, output_cls, cur_objects=current, flexible_mode=True, llm=llm
            )
        except Exception as exc:  # a fragment that does not validate yet: wait for more
            logger.debug("partial structured output not parseable yet: %s", exc)
            continue
        current = objects if isinstance(objects, list) else [objects]
        yield objects


async def astream_structured(
    llm: ModelsLabLLM,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> AsyncGenerator[Partial[Model], None]:
    """Async form of `stream_structured`."""
    kwargs = _chat_kwargs(llm, output_cls, prompt, llm_kwargs, prompt_args)
    current: list[Any] | None = None
    async for response in await llm.astream_chat_with_tools(**kwargs):
        try:
            objects = process_streaming_objects(
                response, output_cls, cur_objects=current, flexible_mode=True, llm=llm
            )
        except Exception as exc:
            logger.debug("partial structured output not parseable yet: %s", exc)
            continue
        current = objects if isinstance(objects, list) else [objects]
        yield objects
