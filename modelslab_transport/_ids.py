"""Moved to `_tool_calls`; kept as an import until `__init__` takes it from there."""

from __future__ import annotations

from ._tool_calls import normalize_tool_call_id

__all__ = ["normalize_tool_call_id"]
