"""A long RAG prompt counted by Mistral's tekken tokenizer, and an emulator host that refuses it
exactly when a real host of that context would.

The session emulator counts a token per word; a vLLM host counts with tekken. Serving the
emulator `host - (tekken - words)` tokens makes its refusal coincide with the real host's:
prompt words + max_tokens > that  <=>  tekken tokens + max_tokens > host.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

from benchmarks.calibrate_tokens import tekken_counter

__all__ = ["RAG_QUESTION", "emulator_context", "rag_prompt", "tekken"]

PROSE = (Path(__file__).resolve().parents[1] / "fixtures" / "rag_prose.txt").read_text(
    encoding="utf-8"
)
RAG_SYSTEM = "Answer the question from the context below. Say so when the context does not tell."
RAG_QUESTION = "When was the quay rebuilt?"
#: What a chat template adds around the messages on a real host (role and control tokens).
TEMPLATE_TOKENS = 16
_WORD = re.compile(r"\S+\s*")


@functools.cache
def tekken() -> Callable[[str], int]:
    """The tekken counter, loaded once (about half a second)."""
    return tekken_counter()


@functools.cache
def rag_prompt(tokens: int = 30_000) -> tuple[str, str]:
    """A (system, user) RAG prompt of at least `tokens` tekken tokens: the retrieved passages in
    the system message (as LlamaIndex's context chat puts them), the question from the user."""
    count = tekken()
    passage = count(PROSE)
    copies = -(-(tokens - count(RAG_SYSTEM) - 40) // passage)
    passages = "\n\n".join(f"[Document {n + 1}]\n{PROSE}" for n in range(copies))
    return f"{RAG_SYSTEM}\n\nContext:\n{passages}", RAG_QUESTION


def emulator_context(host: int, *texts: str) -> int:
    """The context to serve the emulator so it refuses `texts` as a `host`-token vLLM host."""
    count = tekken()
    real = sum(count(text) for text in texts) + TEMPLATE_TOKENS
    words = sum(len(_WORD.findall(text)) for text in texts)
    return host - (real - words)
