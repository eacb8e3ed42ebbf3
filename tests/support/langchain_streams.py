"""Summing a LangChain stream, as a caller would, for the tests that compare it with invoke."""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full
