"""`with_structured_output` plumbing: output parsers, the refusal guard, include_raw."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from operator import itemgetter
from typing import Any, Literal, TypeAlias, cast

from langchain_core.exceptions import ModelRefusalError
from langchain_core.messages import BaseMessage
from langchain_core.messages.content import RefusalContentBlock
from langchain_core.output_parsers import (
    BaseOutputParser,
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import (
    Runnable,
    RunnableGenerator,
    RunnableMap,
    RunnablePassthrough,
)
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

__all__ = [
    "StructuredMethod",
    "assemble",
    "check_refusal",
    "is_pydantic_schema",
    "json_parser",
    "json_schema_format",
    "refusal_guard",
    "tool_parser",
]

StructuredMethod: TypeAlias = Literal["function_calling", "json_mode", "json_schema"]


def is_pydantic_schema(schema: Any) -> bool:
    """Whether `schema` is a pydantic model class (parsed output is then an instance)."""
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def tool_parser(schema: Any, tool_name: str) -> BaseOutputParser[Any]:
    """Parser for the first tool call of a function-calling structured answer."""
    if is_pydantic_schema(schema):
        return PydanticToolsParser(tools=[schema], first_tool_only=True)
    return JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)


def json_parser(schema: Any) -> BaseOutputParser[Any]:
    """Parser for a JSON answer (json_mode / json_schema)."""
    if is_pydantic_schema(schema):
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def json_schema_format(schema: Any, *, strict: bool | None) -> dict[str, Any]:
    """The `response_format` for method="json_schema"."""
    function = convert_to_openai_tool(schema, strict=strict)["function"]
    spec: dict[str, Any] = {
        "name": function["name"],
        "schema": function.get("parameters", {"type": "object", "properties": {}}),
    }
    if function.get("description"):
        spec["description"] = function["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def check_refusal(message: BaseMessage) -> None:
    """Raise langchain-core's `ModelRefusalError` if the model refused to answer.

    ModelsLab reports a refusal as `finish_reason="content_filter"`; OpenAI-style upstreams
    may also pass a `refusal` text through.
    """
    refusal = message.additional_kwargs.get("refusal")
    filtered = message.response_metadata.get("finish_reason") == "content_filter"
    if not refusal and not filtered:
        return
    fields: dict[str, Any] = {
        "type": "refusal",
        "refusal": refusal if isinstance(refusal, str) else "",
    }
    if filtered:
        fields["extras"] = {"category": "content_filter"}
    # cast: langchain-core declares the optional keys with typing.NotRequired (3.11+ only).
    block = cast("RefusalContentBlock", fields)
    raise ModelRefusalError.from_refusal(block, raw_message=message)


def _guard(messages: Iterator[BaseMessage]) -> Iterator[BaseMessage]:
    for message in messages:
        check_refusal(message)
        yield message


async def _aguard(messages: AsyncIterator[BaseMessage]) -> AsyncIterator[BaseMessage]:
    async for message in messages:
        check_refusal(message)
        yield message


def refusal_guard() -> Runnable[BaseMessage, BaseMessage]:
    """A pass-through step that keeps streaming intact and raises on a refusal."""
    return RunnableGenerator(_guard, _aguard, name="ModelsLabRefusalGuard")


def assemble(
    llm: Runnable[Any, Any], parser: Runnable[Any, Any], *, include_raw: bool
) -> Runnable[Any, Any]:
    """llm | guard | parser, or the `{"raw", "parsed", "parsing_error"}` form."""
    checked = refusal_guard() | parser
    if not include_raw:
        return llm | checked
    parser_assign = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | checked, parsing_error=lambda _: None
    )
    parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
    parser_with_fallback = parser_assign.with_fallbacks(
        [parser_none], exception_key="parsing_error"
    )
    return RunnableMap(raw=llm) | parser_with_fallback
