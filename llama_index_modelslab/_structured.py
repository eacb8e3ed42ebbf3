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
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeAlias

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

__all__ = [
    "StructuredCall",
    "apredict_structured",
    "astream_structured",
    "predict_structured",
    "stream_structured",
]

logger = logging.getLogger(__name__)

Partial: TypeAlias = Model | list[Model] | FlexibleModel | list[FlexibleModel]


@dataclass(slots=True)
class StructuredCall(Generic[Model]):
    """One structured call: the object asked for, the prompt and its values, the methods."""

    chain: MethodChain
    output_cls: type[Model]
    prompt: BasePromptTemplate
    llm_kwargs: dict[str, Any] | None
    prompt_args: dict[str, Any]

    def messages(self, llm: FunctionCallingLLM) -> list[Any]:
        return llm._extend_messages(self.prompt.format_messages(llm=llm, **self.prompt_args))

    def request(self, method: StructuredMethod, messages: list[Any]) -> dict[str, Any]:
        """The keywords of `chat`/`stream_chat` (`*_with_tools` for function calling)."""
        return request_kwargs(method, self.output_cls, messages, self.llm_kwargs)

    def program(self, llm: FunctionCallingLLM) -> FunctionCallingProgram[Model]:
        return FunctionCallingProgram.from_defaults(
            output_cls=self.output_cls, llm=llm, prompt=self.prompt, tool_required=True
        )

    def program_kwargs(self) -> dict[str, Any]:
        return {"llm_kwargs": dict(self.llm_kwargs or {}), **self.prompt_args}

    def parsed(self, response: ChatResponse) -> Any:
        return parse_json_answer(self.output_cls, response.message.content or "")

    def started(self) -> Attempts:
        """Report the start (as LLM.structured_predict does); the methods to try."""
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=self.output_cls, template=self.prompt, template_args=self.prompt_args
            )
        )
        return Attempts(self.chain)

    def ended(self, result: Any) -> Model:
        """The checked result, its end reported."""
        if not isinstance(result, self.output_cls):
            raise TypeError(
                f"structured_predict expected a {self.output_cls.__name__} instance but got "
                f"{type(result).__name__}: the model did not produce valid structured output"
            )
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result


class Attempts:
    """The methods of one call, in order. Iterate them and run each inside `with attempts:`:
    a failure the chain falls back on ends the `with` quietly and the next method is tried;
    any other failure, or one after a streamed answer `started`, is raised."""

    __slots__ = ("_chain", "_index", "_tried", "started")

    def __init__(self, chain: MethodChain) -> None:
        self._chain = chain
        self._tried = chain.methods()
        self._index = 0
        self.started = False

    def __iter__(self) -> Generator[StructuredMethod, None, None]:
        for index, method in enumerate(self._tried):
            self._index = index
            yield method

    def __enter__(self) -> Attempts:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        # Once the answer has started, another method cannot take over.
        return (
            isinstance(error, Exception)
            and not self.started
            and self._chain.advance(self._tried, self._index, error)
        )


class _Partials:
    """Ever more complete objects out of the responses of one streamed answer."""

    __slots__ = ("_cls", "_current", "_llm")

    def __init__(self, llm: FunctionCallingLLM, output_cls: type[Model]) -> None:
        self._llm, self._cls = llm, output_cls
        self._current: list[Any] | None = None

    def feed(self, response: ChatResponse) -> Any:
        """The objects so far, or None while the fragment does not validate yet."""
        try:
            objects = process_streaming_objects(
                response, self._cls, cur_objects=self._current, flexible_mode=True, llm=self._llm
            )
        except Exception as exc:  # a fragment that does not validate yet: wait for more
            logger.debug("partial structured output not parseable yet: %s", exc)
            return None
        self._current = objects if isinstance(objects, list) else [objects]
        return objects


_UNREACHABLE = "unreachable: function calling never falls back"


@dispatcher.span
def predict_structured(llm: FunctionCallingLLM, call: StructuredCall[Model]) -> Model:
    """`structured_predict` through the call's methods (the LLM's `structured_output_method`)."""
    attempts = call.started()
    for method in attempts:
        with attempts:
            if method == "function_calling":
                result = call.program(llm)(**call.program_kwargs())
            else:
                result = call.parsed(llm.chat(**call.request(method, call.messages(llm))))
            return call.ended(result)
    raise AssertionError(_UNREACHABLE)


@dispatcher.span
async def apredict_structured(llm: FunctionCallingLLM, call: StructuredCall[Model]) -> Model:
    """Async form of `predict_structured`."""
    attempts = call.started()
    for method in attempts:
        with attempts:
            if method == "function_calling":
                result = await call.program(llm).acall(**call.program_kwargs())
            else:
                kwargs = call.request(method, call.messages(llm))
                result = call.parsed(await llm.achat(**kwargs))
            return call.ended(result)
    raise AssertionError(_UNREACHABLE)


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
    llm: FunctionCallingLLM, call: StructuredCall[Model]
) -> Generator[Partial[Model], None, None]:
    """Yield ever more complete `output_cls` objects while the answer streams in."""
    messages = call.messages(llm)
    attempts = Attempts(call.chain)
    for method in attempts:
        partials = _Partials(llm, call.output_cls)
        with attempts, closing(_responses(llm, method, call.request(method, messages))) as stream:
            for response in stream:
                attempts.started = True
                if (objects := partials.feed(response)) is not None:
                    yield objects
            return


async def astream_structured(
    llm: FunctionCallingLLM, call: StructuredCall[Model]
) -> AsyncGenerator[Partial[Model], None]:
    """Async form of `stream_structured`."""
    messages = call.messages(llm)
    attempts = Attempts(call.chain)
    for method in attempts:
        partials = _Partials(llm, call.output_cls)
        with attempts:
            kwargs = call.request(method, messages)
            if method == "function_calling":
                responses = await llm.astream_chat_with_tools(**kwargs)
            else:
                responses = await llm.astream_chat(**kwargs)
            async with aclosing(responses):
                async for response in responses:
                    attempts.started = True
                    if (objects := partials.feed(response)) is not None:
                        yield objects
            return
