"""What preparing one chat request costs before it is sent: the body built (conversation shaped
for a Mistral-family model) and the default `max_tokens` estimated.

    python -m benchmarks.request_prep

Prints µs per request (median of 7 runs) for the request benchmark's one-line prompt and for a
typical agent turn (system, question, tool call, tool result, follow-up: shaped for Magistral,
sent as built for Llama), and for a 30,000-token RAG prompt. Compare with the request
benchmark's ~750 µs per non-streamed request (docs/benchmarks.md).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from modelslab_transport import build_chat_payload

__all__ = ["cases", "main", "measure"]

MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"
_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _agent_turn() -> list[dict[str, Any]]:
    call = {"id": "call_9f2c1a7b3d", "type": "function"}
    call["function"] = {"name": "get_weather", "arguments": '{"city": "Paris"}'}  # type: ignore[assignment]
    return [
        {"role": "system", "content": "You are a helpful travel assistant. Be brief."},
        {"role": "user", "content": "What is the weather in Paris today?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_9f2c1a7b3d", "content": "sunny, 21 C, light wind"},
        {"role": "user", "content": "And what should I wear for a walk this evening?"},
    ]


def _rag() -> list[dict[str, Any]]:
    from pathlib import Path

    prose = (Path(__file__).parent.parent / "tests" / "fixtures" / "rag_prose.txt").read_text()
    context = "\n\n".join([prose] * 50)  # ~30,000 tokens
    return [
        {"role": "system", "content": f"Answer from the context.\n\nContext:\n{context}"},
        {"role": "user", "content": "When was the quay rebuilt?"},
    ]


def cases() -> dict[str, Callable[[], dict[str, Any]]]:
    """Each case builds one request body, as an adapter's call does."""
    short = [{"role": "user", "content": "Hello there"}]
    agent = _agent_turn()
    rag = _rag()

    def prepared(model: str, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        return build_chat_payload(
            model, messages, base_url="https://modelslab.com/api/v7/llm", **params
        )

    return {
        "one-line prompt, Magistral": lambda: prepared(MAGISTRAL, short),
        "agent turn + 1 tool, Magistral (shaped)": lambda: prepared(
            MAGISTRAL, agent, tools=[_TOOL]
        ),
        "agent turn + 1 tool, Llama (as built)": lambda: prepared(LLAMA, agent, tools=[_TOOL]),
        "30,000-token RAG prompt, Magistral": lambda: prepared(MAGISTRAL, rag),
    }


def measure(case: Callable[[], object], runs: int = 7, number: int = 2_000) -> float:
    """Median µs per call over `runs` runs of `number` calls."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(number):
            case()
        timings.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(timings)


def main() -> None:
    print("| request | µs to build + estimate |")
    print("|---|---:|")
    for name, case in cases().items():
        number = 50 if "RAG" in name else 2_000
        print(f"| {name} | {measure(case, number=number):,.1f} |")


if __name__ == "__main__":
    main()
