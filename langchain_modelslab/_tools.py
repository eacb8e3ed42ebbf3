"""Tools and tool_choice in every form LangChain users write them → ModelsLab's wire shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from langchain_core.utils.function_calling import convert_to_openai_tool

from modelslab_transport import tool_choice_for_wire

from ._errors import ModelsLabInvalidInputError, langchain_errors

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool  # loads langchain_core.tools (~3 ms): types only

__all__ = ["ToolChoice", "ToolLike", "format_tool_choice", "format_tools", "tool_name"]

ToolLike: TypeAlias = "dict[str, Any] | type | Callable[..., Any] | BaseTool"
ToolChoice: TypeAlias = (
    dict[str, Any] | str | Literal["auto", "none", "any", "required"] | bool | None
)


def format_tools(tools: Sequence[ToolLike], *, strict: bool | None = None) -> list[dict[str, Any]]:
    """Dicts, pydantic models, TypedDicts, functions and BaseTools as OpenAI function tools."""
    formatted = []
    for tool in tools:
        try:
            formatted.append(convert_to_openai_tool(tool, strict=strict))
        except (ValueError, TypeError) as exc:
            raise ModelsLabInvalidInputError(f"Cannot use {tool!r} as a tool: {exc}") from None
    return formatted


def tool_name(tool: Mapping[str, Any]) -> str:
    """The function name of a formatted tool."""
    return str(tool["function"]["name"])


def format_tool_choice(
    tool_choice: ToolChoice, tools: Sequence[Mapping[str, Any]]
) -> str | dict[str, Any] | None:
    """Map LangChain's tool_choice spellings to ModelsLab's (the transport's one rule).

    `"any"` and `True` mean "call some tool" (`"required"`); a tool's name forces that tool;
    `False` and None leave the choice to the model.
    """
    with langchain_errors():
        return tool_choice_for_wire(tool_choice, [tool_name(t) for t in tools])
