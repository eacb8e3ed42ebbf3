"""The reasoning shapes the emulator plays, as one table the transport, LangChain and
LlamaIndex tests all read: each row names the scenario, the model, the max_tokens cap and what
the answer, the reasoning and `reasoning_state` must come out as."""

from __future__ import annotations

from typing import NamedTuple

MAGISTRAL = "mistralai-Magistral-Small-2506"  # catalogue style: inline <think>
LLAMA = "meta-llama-llama-3.1-8b-instruct"
DEEPSEEK = "deepseek-deepseek-r1-distill-llama-70b"  # catalogue style: template_opened
REASONING = "The user wrote 2 words. I will answer plainly."
ANSWER = "You said: Hello there"


class Shape(NamedTuple):
    name: str  # the emulator scenario; "" plays none (the model's own style)
    model: str
    max_tokens: int | None
    content: str
    reasoning: str | None  # None: the reasoning equals the content (no tag ever closed)
    state: str | None  # the expected reasoning_state

    @property
    def expected_reasoning(self) -> str:
        return self.content if self.reasoning is None else self.reasoning

    @property
    def finish_reason(self) -> str:
        return "length" if self.state == "cut" else "stop"


def shape_id(shape: Shape) -> str:
    return f"{shape.name or 'none'}-{shape.model.split('-')[0]}-{shape.max_tokens}"


# The rows both framework adapters are checked on.
ADAPTER_SHAPES = [
    Shape("thinking-blocks", LLAMA, None, ANSWER, REASONING, None),
    Shape("unterminated-think", MAGISTRAL, None, f"{REASONING}\n\n{ANSWER}", None, "unterminated"),
    Shape("close-only-think", DEEPSEEK, None, ANSWER, REASONING, None),
    Shape("thinking-blocks", MAGISTRAL, 3, "", "The user wrote", "cut"),
    Shape("", MAGISTRAL, 3, "", "The user wrote", "cut"),
    Shape("close-only-think", DEEPSEEK, 3, "", "The user wrote", "cut"),
]
