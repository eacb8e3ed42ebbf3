"""Which request each structured-output method sends, and when to move to the next method.

With `structured_output_method="json_schema"` a ModelsLabLLM asks for a `json_schema`
`response_format`. Some providers ModelsLab routes to refuse it (ModelsLab answers "Provider
returned error", usually with HTTP 200), a few refuse `json_object` too; then the next method of
`modelslab_transport.FALLBACK_ORDER` is used (JSON mode with the schema told in the system
message, then a forced function call), and remembered per LLM instance and model id.
The LLM hands its state in (`MethodChain`): nothing here imports the model class back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.output_parsers import PydanticOutputParser
from llama_index.core.program.function_program import get_function_tool
from llama_index.core.types import Model

from modelslab_transport.models import (
    StructuredMethod,
    fallback_methods,
    is_format_refusal,
    json_mode_instruction,
)

__all__ = ["MethodChain", "parse_json_answer", "request_kwargs"]

logger = logging.getLogger("llama_index_modelslab")

# The program's own switches; the caller's llm_kwargs must not override the forced call.
_PROGRAM_KWARGS = ("tool_required", "tool_choice", "allow_parallel_tool_calls")


@dataclass(frozen=True)
class MethodChain:
    """The structured-output methods one LLM tries for `model`, and what it remembers.

    `memo` is the LLM's own dict, (model, chosen method) -> the method that worked after a
    format refusal, so later calls start there.
    """

    model: str
    chosen: StructuredMethod
    memo: dict[tuple[str, str], StructuredMethod]

    def methods(self) -> tuple[StructuredMethod, ...]:
        """The methods to try, in order, starting from the one remembered for this model."""
        remembered = self.memo.get((self.model, self.chosen))
        return fallback_methods(remembered or self.chosen)

    def advance(self, tried: Sequence[StructuredMethod], index: int, error: BaseException) -> bool:
        """Whether to try `tried[index + 1]` after `tried[index]` failed with `error` (then log
        it and remember it)."""
        if index + 1 >= len(tried) or not is_format_refusal(error):
            return False
        failed, used = tried[index], tried[index + 1]
        status = getattr(error, "status_code", None)
        # Only method names, model and status: the message could quote the request.
        logger.warning(
            "ModelsLab refused structured output method %r for model %s (HTTP %s); "
            "using %r for this and later calls of this LLM",
            failed,
            self.model,
            status if status is not None else "-",
            used,
        )
        self.memo[(self.model, self.chosen)] = used
        return True


def request_kwargs(
    method: StructuredMethod,
    output_cls: type[Model],
    messages: list[ChatMessage],
    llm_kwargs: dict[str, Any] | None,
) -> dict[str, Any]:
    """Keyword arguments of `chat`/`stream_chat` (or `*_with_tools` for function calling)."""
    extra = {k: v for k, v in (llm_kwargs or {}).items() if k not in _PROGRAM_KWARGS}
    if method == "function_calling":
        return {
            "tools": [get_function_tool(output_cls)],
            "chat_history": messages,
            "tool_required": True,
            "allow_parallel_tool_calls": False,
            **extra,
        }
    schema = output_cls.model_json_schema()
    if method == "json_schema":
        spec = {"name": output_cls.__name__, "schema": schema}
        if output_cls.__doc__:
            spec["description"] = " ".join(output_cls.__doc__.split())
        response_format: dict[str, Any] = {"type": "json_schema", "json_schema": spec}
    else:
        messages = _with_instruction(
            messages, json_mode_instruction(schema, name=output_cls.__name__)
        )
        response_format = {"type": "json_object"}
    return {"messages": messages, **extra, "response_format": response_format}


def _with_instruction(messages: list[ChatMessage], instruction: str) -> list[ChatMessage]:
    first = messages[0] if messages else None
    # Mistral templates take one system message, first: extend it rather than add another.
    if first is not None and first.role == MessageRole.SYSTEM and isinstance(first.content, str):
        merged = f"{first.content}\n\n{instruction}" if first.content else instruction
        return [ChatMessage(role=MessageRole.SYSTEM, content=merged), *messages[1:]]
    return [ChatMessage(role=MessageRole.SYSTEM, content=instruction), *messages]


def parse_json_answer(output_cls: type[Model], text: str) -> Model:
    """The `output_cls` object a JSON-mode or json_schema answer holds."""
    parsed: Model = PydanticOutputParser(output_cls=output_cls).parse(text)
    return parsed
