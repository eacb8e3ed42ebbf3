"""Structured prediction: a forced function call, or json_schema / JSON mode with fallback.

LlamaIndex's FunctionCallingProgram streams with `tool_choice="auto"` (and, before 0.14.x, drops
any tool choice), so a model may answer in text and yield only empty objects. These helpers run
the same loop with the output class's tool required. With `structured_output_method` set to
"json_schema" or "json_mode", they send that `response_format` instead and, if the provider
refuses it, go on down the fallback chain (see `_format_fallback`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator
from contextlib import aclosing, closing
from typing import Any, TypeAlias

from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)

# The dispatcher LLM.structured_predict reports to: instrumentation sees the same events.
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import dispatcher
from llama_index.core.program.function_program import FunctionCallingProgram
from llama_index.core.program.utils import FlexibleModel, process_streaming_objects
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import Model

from modelslab_transport.models import StructuredMethod

from ._format_fallback import MethodChain, parse_json_answer, request_kwargs

__all__ = ["apredict_structured", "astream_structured", "predict_structured", "stream_structured"]

logger = logging.getLogger(__name__)

Partial: TypeAlias = Model | list[Model] | FlexibleModel | list[FlexibleModel]


def _messages(
    llm: FunctionCallingLLM, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
) -> list[Any]:
    return llm._extend_messages(prompt.format_messages(llm=llm, **prompt_args))


def _program(
    llm: FunctionCallingLLM, output_cls: type[Model], prompt: BasePromptTemplate
) -> FunctionCallingProgram[Model]:
    return FunctionCallingProgram.from_defaults(
        output_cls=output_cls, llm=llm, prompt=prompt, tool_required=True
    )


def _json_request(
    llm: FunctionCallingLLM,
    method: StructuredMethod,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    prompt_args: dict[str, Any],
    llm_kwargs: dict[str, Any] | None,
) -> dict[str, Any]:
    return request_kwargs(method, output_cls, _messages(llm, prompt, prompt_args), llm_kwargs)


def _started(
    chain: MethodChain,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    prompt_args: dict[str, Any],
) -> tuple[StructuredMethod, ...]:
    """Report the start (as LLM.structured_predict does); the methods to try, in order."""
    dispatcher.event(
        LLMStructuredPredictStartEvent(
            output_cls=output_cls, template=prompt, template_args=prompt_args
        )
    )
    return chain.methods()


def _ended(output_cls: type[Model], result: Any) -> Model:
    """The checked result, its end reported."""
    if not isinstance(result, output_cls):
        raise TypeError(
            f"structured_predict expected a {output_cls.__name__} instance but got "
            f"{type(result).__name__}: the model did not produce valid structured output"
        )
    dispatcher.event(LLMStructuredPredictEndEvent(output=result))
    return result


@dispatcher.span
def predict_structured(
    llm: FunctionCallingLLM,
    chain: MethodChain,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> Model:
    """`structured_predict` through `chain`'s methods (the LLM's `structured_output_method`)."""
    tried = _started(chain, output_cls, prompt, prompt_args)
    for index, method in enumerate(tried):
        try:
            if method == "function_calling":
                result = _program(llm, output_cls, prompt)(
                    llm_kwargs=dict(llm_kwargs or {}), **prompt_args
                )
            else:
                kwargs = _json_request(llm, method, output_cls, prompt, prompt_args, llm_kwargs)
                result = parse_json_answer(output_cls, llm.chat(**kwargs).message.content or "")
        except Exception as exc:
            if chain.advance(tried, index, exc):
                continue
            raise
        return _ended(output_cls, result)
    raise AssertionError("unreachable: function calling never falls back")


@dispatcher.span
async def apredict_structured(
    llm: FunctionCallingLLM,
    chain: MethodChain,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> Model:
    """Async form of `predict_structured`."""
    tried = _started(chain, output_cls, prompt, prompt_args)
    for index, method in enumerate(tried):
        try:
            if method == "function_calling":
                result = await _program(llm, output_cls, prompt).acall(
                    llm_kwargs=dict(llm_kwargs or {}), **prompt_args
                )
            else:
                kwargs = _json_request(llm, method, output_cls, prompt, prompt_args, llm_kwargs)
                response = await llm.achat(**kwargs)
                result = parse_json_answer(output_cls, response.message.content or "")
        except Exception as exc:
            if chain.advance(tried, index, exc):
                continue
            raise
        return _ended(output_cls, result)
    raise AssertionError("unreachable: function calling never falls back")


def _responses(
    llm: FunctionCallingLLM, method: str, kwargs: dict[str, Any]
) -> Generator[ChatResponse, None, None]:
    responses: Generator[ChatResponse, None, None]
    if method == "function_calling":
        responses = llm.stream_chat_with_tools(**kwargs)
    else:
        responses = llm.stream_chat(**kwargs)
    return responses


def stream_structured(
    llm: FunctionCallingLLM,
    chain: MethodChain,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> Generator[Partial[Model], None, None]:
    """Yield ever more complete `output_cls` objects while the answer streams in."""
    messages = _messages(llm, prompt, prompt_args)
    tried = chain.methods()
    for index, method in enumerate(tried):
        kwargs = request_kwargs(method, output_cls, messages, llm_kwargs)
        current: list[Any] | None = None
        started = False
        try:
            with closing(_responses(llm, method, kwargs)) as responses:
                for response in responses:
                    started = True
                    try:
                        objects = process_streaming_objects(
                            response, output_cls, cur_objects=current, flexible_mode=True, llm=llm
                        )
                    except Exception as exc:  # a fragment that does not validate yet: wait for more
                        logger.debug("partial structured output not parseable yet: %s", exc)
                        continue
                    current = objects if isinstance(objects, list) else [objects]
                    yield objects
            return
        except Exception as exc:
            # Once the answer has started, another method cannot take over.
            if started or not chain.advance(tried, index, exc):
                raise


async def astream_structured(
    llm: FunctionCallingLLM,
    chain: MethodChain,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    prompt_args: dict[str, Any],
) -> AsyncGenerator[Partial[Model], None]:
    """Async form of `stream_structured`."""
    messages = _messages(llm, prompt, prompt_args)
    tried = chain.methods()
    for index, method in enumerate(tried):
        kwargs = request_kwargs(method, output_cls, messages, llm_kwargs)
        current: list[Any] | None = None
        started = False
        try:
            if method == "function_calling":
                responses = await llm.astream_chat_with_tools(**kwargs)
            else:
                responses = await llm.astream_chat(**kwargs)
            async with aclosing(responses):
                async for response in responses:
                    started = True
                    try:
                        objects = process_streaming_objects(
                            response, output_cls, cur_objects=current, flexible_mode=True, llm=llm
                        )
                    except Exception as exc:
                        logger.debug("partial structured output not parseable yet: %s", exc)
                        continue
                    current = objects if isinstance(objects, list) else [objects]
                    yield objects
            return
        except Exception as exc:
            if started or not chain.advance(tried, index, exc):
                raise
