"""OpenAI-style function tool definitions, as the emulator and transport tests send them."""

from __future__ import annotations

from typing import Any

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}


def function_tool(
    name: str, description: str | None = None, **properties: dict[str, Any]
) -> dict[str, Any]:
    """A function tool whose parameters are an object of `properties`, every one required."""
    function: dict[str, Any] = {"name": name}
    if description is not None:
        function["description"] = description
    function["parameters"] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }
    return {"type": "function", "function": function}
