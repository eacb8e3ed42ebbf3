"""`with_structured_output` plumbing: output parsers, the refusal guard, include_raw."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from operator import itemgetter
from typing import Any, cast

from langchain_core.exceptions import ModelRefusalError
from langchain_core.language_models import BaseChatModel
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
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from modelslab_transport.models import StructuredMethod

from ._errors import ModelsLabInvalidInputError
from ._format_fallback import FormatFallback, schema_instruction
from ._tools import format_tools, tool_name

__all__ = [
    "StructuredMethod",
    "assemble",
    "build_structured",
    "check_refusal",
    "is_pydantic_schema",
    "json_parser",
    "json_schema_format",
    "refusal_guard",
    "tool_parser",
]


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


def build_structured(
    model: BaseChatModel,
    schema: dict[str, Any] | type | None,
    *,
    model_id: str,
    method: StructuredMethod,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[Any, Any]:
    """The runnable behind `ChatModelsLab.with_structured_output` (`model_id`: for the log)."""
    if schema is None and method != "json_mode":
        raise ModelsLabInvalidInputError(f"method={method!r} needs a schema")
    trace_format = {"kwargs": {"method": method, "strict": strict}, "schema": _trace(schema)}
    if method == "function_calling" and schema is not None:
        return _function_calling(
            model, schema, trace_format, include_raw=include_raw, strict=strict
        )
    json_mode = model.bind(
        response_format={"type": "json_object"}, ls_structured_output_format=trace_format
    )
    if method == "json_mode":
        return assemble(json_mode, json_parser(schema), include_raw=include_raw)
    if method == "json_schema" and schema is not None:
        return _json_schema_chain(
            model, schema, trace_format, model_id=model_id, include_raw=include_raw, strict=strict
        )
    raise ModelsLabInvalidInputError(
        f"method must be 'function_calling', 'json_mode' or 'json_schema', not {method!r}"
    )


def _json_schema_chain(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    trace_format: dict[str, Any],
    *,
    model_id: str,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[Any, Any]:
    """json_schema, falling back to JSON mode, then to function calling, if the format is refused.

    json_schema is undocumented on ModelsLab; JSON mode then gets the schema in the system
    message, and function calling (documented) always works. Each chain has its own parser, so
    `include_raw` shows the message of the call that answered.
    """
    response_format = json_schema_format(schema, strict=strict)
    spec = response_format["json_schema"]
    json_schema = model.bind(
        response_format=response_format, ls_structured_output_format=trace_format
    )
    json_mode = schema_instruction(model, spec["schema"], spec["name"]) | model.bind(
        response_format={"type": "json_object"}, ls_structured_output_format=trace_format
    )
    tools = _function_calling(model, schema, trace_format, include_raw=include_raw, strict=strict)
    steps: list[tuple[StructuredMethod, Runnable[Any, Any]]] = [
        ("json_schema", assemble(json_schema, json_parser(schema), include_raw=include_raw)),
        ("json_mode", assemble(json_mode, json_parser(schema), include_raw=include_raw)),
        ("function_calling", tools),
    ]
    return FormatFallback(steps, model=model_id)


def _function_calling(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    trace_format: dict[str, Any],
    *,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[Any, Any]:
    """The forced call of the one tool `schema` describes, parsed."""
    name = tool_name(format_tools([schema], strict=strict)[0])
    llm = model.bind_tools(
        [schema],
        tool_choice=name,
        strict=strict,
        parallel_tool_calls=False,
        ls_structured_output_format=trace_format,
    )
    return assemble(llm, tool_parser(schema, name), include_raw=include_raw)


def _trace(schema: dict[str, Any] | type | None) -> dict[str, Any] | None:
    """The JSON schema LangSmith shows for a structured-output call (best effort)."""
    if schema is None:
        return None
    try:
        return convert_to_json_schema(schema)
    except (ValueError, TypeError):
        return schema if isinstance(schema, dict) else None
