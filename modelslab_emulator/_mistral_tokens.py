"""Prompt tokens counted like Mistral's tokenizer (tekken), for the vLLM profile.

With ``mistral_common`` importable, its bundled ``tekken_240911.json`` counts exactly (loaded
lazily, once per process, about a second). Without it, an approximation: a token per digit
(tekken splits numbers into digits) and a token per 4 bytes of everything else (tekken's
ratio for English prose is 4-4.5 bytes a token). Either way each message adds its template's
control tokens.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._text import content_text

#: Control tokens around one message (``[INST]``/``[/INST]``, ``</s>``, ``[TOOL_RESULTS]``...).
MESSAGE_OVERHEAD = 3
#: ``<s>`` and the ``[AVAILABLE_TOOLS]``/``[/AVAILABLE_TOOLS]`` pair.
BOS, TOOLS_OVERHEAD = 1, 2

_lock = threading.Lock()
_encoder: list[Callable[[str], int] | None] = []


def _load() -> Callable[[str], int] | None:
    try:
        import mistral_common
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer
    except ImportError:
        return None
    path = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    if not path.is_file():
        return None
    tekken = Tekkenizer.from_file(path)
    return lambda text: len(tekken.encode(text, bos=False, eos=False))


def _exact() -> Callable[[str], int] | None:
    if not _encoder:
        with _lock:
            if not _encoder:
                _encoder.append(_load())
    return _encoder[0]


def approximate_tokens(text: str) -> int:
    """The fallback estimate: one token per digit, one per 4 bytes of the rest (rounded up)."""
    digits = sum(1 for ch in text if ch.isdigit())
    rest = len(text.encode("utf-8")) - digits
    return digits + (rest + 3) // 4


def text_tokens(text: str) -> int:
    """Tokens of ``text`` by tekken when available, else ``approximate_tokens``."""
    if not text:
        return 0
    exact = _exact()
    return exact(text) if exact is not None else approximate_tokens(text)


def is_exact() -> bool:
    """Whether counts come from Mistral's own tokenizer (mistral_common is installed)."""
    return _exact() is not None


def prompt_tokens(messages: Sequence[dict[str, Any]], tools: Sequence[Any] | None = None) -> int:
    """The prompt as a Mistral-tokenizer host counts it: every message's text and tool calls
    plus their control tokens, and the tool definitions."""
    total = BOS
    for message in messages:
        total += MESSAGE_OVERHEAD + text_tokens(content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                name, arguments = function.get("name"), function.get("arguments")
                total += MESSAGE_OVERHEAD + text_tokens(name if isinstance(name, str) else "")
                text = arguments if isinstance(arguments, str) else json.dumps(arguments)
                total += text_tokens(text or "")
    if tools:
        total += TOOLS_OVERHEAD + text_tokens(json.dumps(list(tools), ensure_ascii=False))
    return total
