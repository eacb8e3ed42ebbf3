"""The SSE reading every floor shares: `data:` lines -> `json.loads`, nothing else.

The raw-httpx floor and the two framework HTTP floors read the stream with exactly this code,
so the only difference between them is what each framework builds per chunk.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

__all__ = ["adeltas", "asse_chunks", "deltas", "sse_chunks"]


def sse_chunks(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Each `data:` line's JSON object, up to `data: [DONE]`."""
    for line in lines:
        if line.startswith("data: "):
            data = line[6:]
            if data == "[DONE]":
                return
            yield json.loads(data)


async def asse_chunks(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The async `sse_chunks`."""
    async for line in lines:
        if line.startswith("data: "):
            data = line[6:]
            if data == "[DONE]":
                return
            yield json.loads(data)


def text_of(chunk: dict[str, Any]) -> str | None:
    """The first choice's delta text, if the chunk carries any."""
    choices = chunk["choices"]
    return choices[0]["delta"].get("content") if choices else None


def deltas(lines: Iterator[str]) -> Iterator[str]:
    """The text of each chunk that carries text."""
    for chunk in sse_chunks(lines):
        if text := text_of(chunk):
            yield text


async def adeltas(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The async `deltas`."""
    async for chunk in asse_chunks(lines):
        if text := text_of(chunk):
            yield text
