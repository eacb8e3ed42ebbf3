"""The deterministic scripted model behind every endpoint (see the package docstring)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._catalog import ModelInfo
from ._schema import ValueSource, quoted_strings, schema_in_text, synthesize
from ._text import (
    DELIBERATION,
    content_text,
    count_tokens,
    first_tokens,
    last_user_text,
    prompt_tokens,
)
from ._tools import ToolCall, ToolSpec, choose_tools, make_calls, tool_results

UNICODE_TAIL = " h\u00e9llo \u4f60\u597d \U0001f642 \u2028 \u0085 ok"


@dataclass(frozen=True)
class ModelRequest:
    """A chat request, normalised from either wire format (OpenAI-style messages)."""

    model: ModelInfo
    messages: list[dict[str, Any]]
    system: str = ""
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str = "auto"
    forced_tool: str | None = None
    parallel_tool_calls: bool = True
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    unicode: bool = False
    #: Reason first even if the model does not (the reasoning-shape scenarios ask for it).
    think: bool = False
    #: Whether a model that deliberates does (off for scenarios that reshape the reasoning).
    deliberate: bool = True
    #: The prompt's size as the host counted it (None: the emulator's word tokens).
    prompt_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    """What the model generated; ``answer`` is None when it calls tools."""

    reasoning: str | None
    reasoning_closed: bool
    answer: str | None
    tool_calls: list[ToolCall]
    finish_reason: str
    stop_sequence: str | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int

    def inline_content(self) -> str | None:
        """Content with the reasoning inline, as ``<think>\\n…\\n</think>\\n<answer>``."""
        if self.answer is None or self.reasoning is None:
            return self.answer
        if not self.reasoning_closed:
            return f"<think>\n{self.reasoning}"
        return f"<think>\n{self.reasoning}\n</think>\n{self.answer}"


def complete(request: ModelRequest) -> Completion:
    """Run the scripted model."""
    messages = request.messages
    prompt = request.prompt_tokens
    if prompt is None:
        prompt = prompt_tokens(messages, request.system)
    chosen = choose_tools(
        messages,
        request.tools,
        request.tool_choice,
        request.forced_tool,
        request.parallel_tool_calls,
    )
    if chosen:
        calls = make_calls(messages, chosen)
        used = sum(count_tokens(c.arguments) for c in calls)
        return Completion(None, True, None, calls, "tool_calls", None, prompt, used, 0)
    results = tool_results(messages)
    user_text = last_user_text(messages)
    reasoning: str | None = None
    if request.response_format is not None and request.response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        answer = _json_answer(request.response_format, user_text, messages)
    elif results:
        answer = "Based on the tool results: " + "; ".join(
            f'{name} returned "{text}"' for name, text in results
        )
        answer += "." + (UNICODE_TAIL if request.unicode else "")
        reasoning = f"I have {len(results)} tool results. I will use them."
    else:
        answer = f"You said: {user_text}" + (UNICODE_TAIL if request.unicode else "")
        reasoning = f"The user wrote {count_tokens(user_text)} words. I will answer plainly."
    if not (request.model.thinks or request.think):
        reasoning = None
    elif reasoning is not None and request.deliberate and request.model.deliberates:
        reasoning = f"{reasoning} {DELIBERATION}"
    return _finish(request, prompt, reasoning, answer)


def _finish(request: ModelRequest, prompt: int, reasoning: str | None, answer: str) -> Completion:
    finish, stop_sequence = "stop", None
    cut = min(((answer.find(s), s) for s in request.stop if s and s in answer), default=None)
    if cut is not None:
        answer, stop_sequence = answer[: cut[0]], cut[1]
    closed = True
    reasoning_used = count_tokens(reasoning) if reasoning is not None else 0
    limit = request.max_tokens
    over = limit is not None and reasoning_used > limit - (1 if count_tokens(answer) else 0)
    if limit is not None and reasoning is not None and over:
        # the think block itself is cut: it stays unclosed and there is no answer
        reasoning, closed, answer, finish = first_tokens(reasoning, limit), False, "", "length"
        reasoning_used, stop_sequence = limit, None
    if limit is not None and closed and count_tokens(answer) > limit - reasoning_used:
        answer, finish, stop_sequence = first_tokens(answer, limit - reasoning_used), "length", None
    used = reasoning_used + count_tokens(answer)
    return Completion(
        reasoning, closed, answer, [], finish, stop_sequence, prompt, used, reasoning_used
    )


def _json_answer(
    response_format: dict[str, Any], user_text: str, messages: list[dict[str, Any]]
) -> str:
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema", {}) if isinstance(spec, dict) else {}
        schema = schema or response_format.get("schema", {})
        return json.dumps(synthesize(schema, ValueSource(user_text)), ensure_ascii=False)
    # JSON mode told the schema in a system message follows it, as an instructed model would
    for message in messages:
        if message.get("role") in ("system", "developer"):
            found = schema_in_text(content_text(message.get("content")))
            if found is not None:
                return json.dumps(synthesize(found, ValueSource(user_text)), ensure_ascii=False)
    keys = quoted_strings(user_text)
    if not keys:
        return json.dumps({"answer": user_text}, ensure_ascii=False)
    return json.dumps({key: f"{key} for: {user_text}" for key in keys}, ensure_ascii=False)
