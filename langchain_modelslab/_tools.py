"""Tools and tool_choice in every form LangChain users write them → ModelsLab's wire shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from ._errors import ModelsLabInvalidInputError

__all__ = ["ToolChoice", "ToolLike", "format_tool_choice", "format_tools", "tool_name"]

ToolLike: TypeAlias = dict[str, Any] | type | Callable[..., Any] | BaseTool
ToolChoice: TypeAlias = (
    dict[str, Any] | str | Literal["auto", "none", "any", "required"] | bool | None
)

_WORDS = {"auto": "auto", "none": "none", "any": "required", "required": "required"}


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
    """Map LangChain's tool_choice spellings to ModelsLab's.

    `"any"` and `True` mean "call some tool" (`"required"`); a tool's name forces that tool;
    `False` and None leave the choice to the model.
    """
    if tool_choice is None or tool_choice is False:
        return None
    names = [tool_name(t) for t in tools]
    if tool_choice is True:
        return _force(names[0]) if len(names) == 1 else "required"
    if isinstance(tool_choice, str):
        if tool_choice in _WORDS:
            return _WORDS[tool_choice]
        if tool_choice in names:
            return _force(tool_choice)
        raise ModelsLabInvalidInputError(
            f"tool_choice={tool_choice!r} is neither 'auto', 'none', 'any', 'required' nor the "
            f"name of a bound tool ({', '.join(names) or 'no tools bound'})"
        )
    if isinstance(tool_choice, Mapping):
        name = _dict_choice_name(tool_choice)
        if name is None and tool_choice.get("type") in _WORDS:
            return _WORDS[str(tool_choice["type"])]  # {"type": "any"} (Anthropic spelling)
        if name is None:
            raise ModelsLabInvalidInputError(
                "tool_choice dicts look like {'type': 'function', 'function': {'name': ...}}, "
                f"not {dict(tool_choice)!r}"
            )
        if names and name not in names:
            raise ModelsLabInvalidInputError(
                f"tool_choice names {name!r}, which is not a bound tool ({', '.join(names)})"
            )
        return _force(name)
    raise ModelsLabInvalidInputError(f"Unsupported tool_choice {tool_choice!r}")


def _dict_choice_name(choice: Mapping[str, Any]) -> str | None:
    function = choice.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return str(function["name"])
    # Anthropic ({"type": "tool", "name": ...}) and bare ({"name": ...}) spellings.
    if isinstance(choice.get("name"), str):
        return str(choice["name"])
    return None


def _force(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}
