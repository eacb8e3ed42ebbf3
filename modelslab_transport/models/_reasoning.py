"""Where the models put their reasoning in a message, besides inline tags.

Mistral's own API sends thinking blocks (a nested list); OpenAI-style servers a side field
(`reasoning_content` or `reasoning`); some models' chat templates open `<think>` themselves
(catalogue style `template_opened`). `modelslab_transport._reasoning` splits inline tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._catalog import model_info

__all__ = ["content_parts", "reasoning_fields", "template_opened"]

_REASONING_BLOCKS = frozenset(("thinking", "reasoning", "reasoning_text"))


def content_parts(content: object) -> Iterator[tuple[bool, str]]:
    """(is_reasoning, text) for message content given as a string or a list of blocks.

    Mistral's own API sends reasoning as `{"type": "thinking", "thinking": [{"type": "text",
    "text": "…"}]}` (a nested list) beside `{"type": "text", "text": "…"}` blocks; a plain
    string in `thinking` (or `reasoning` / `text`) is accepted too.
    """
    if isinstance(content, str):
        if content:
            yield False, content
        return
    if isinstance(content, dict):
        content = [content]  # a lone block, not wrapped in a list
    elif not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, str):
            if block:
                yield False, block
            continue
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if isinstance(kind, str) and kind in _REASONING_BLOCKS:
            for key in ("thinking", "reasoning", "text"):
                value = block.get(key)
                if isinstance(value, str):
                    if value:
                        yield True, value
                    break
                if isinstance(value, list):
                    for inner in value:
                        thought = _block_text(inner)
                        if thought:
                            yield True, thought
                    break
        elif kind in (None, "text", "output_text"):
            answer = block.get("text")
            if isinstance(answer, str) and answer:
                yield False, answer


def _block_text(block: object) -> str:
    """Text of one entry of a nested thinking list: a text block or a plain string."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict) and block.get("type", "text") == "text":
        text = block.get("text")
        if isinstance(text, str):
            return text
    return ""


def reasoning_fields(message: dict[str, Any]) -> Iterator[str]:
    """Reasoning sent beside the content (`reasoning_content`, `reasoning`), each once."""
    first = message.get("reasoning_content")
    if isinstance(first, str) and first:
        yield first
    second = message.get("reasoning")
    if isinstance(second, str) and second and second != first:
        yield second


def template_opened(model: str | None) -> bool:
    """Whether the catalogue says `model`'s chat template opens `<think>` itself."""
    info = model_info(model) if model else None
    return info is not None and info.reasoning == "template_opened"
