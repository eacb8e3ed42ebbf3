"""Host probes: cheap requests that tell which host profile answers (vLLM or OpenRouter).

Each is a conversation a Mistral-tokenizer vLLM host refuses before generating (a refusal
costs nothing), sent as is through raw HTTP, so no client shaping hides the answer. The
answers name the profile: ``vllm`` (the three conversations refused in mistral-common's
words, a 10-character tool-call id accepted after vLLM cuts it to its last 9), ``openrouter``
(all three conversations answered), or ``unknown``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ._probes import Probe, _chat, _user
from ._wire import Exchange

#: The probes' tag: the run sends them unshaped and reads the host's profile from them.
HOST = "host"
#: The context probe's tag: a host that accepts it is disconnected at once (see ``send``).
ABORT_IF_ACCEPTED = "abort-if-accepted"
_ROLE_RULE = "Unexpected role 'user' after role 'tool'"
_EMPTY_RULE = "Assistant message must have either content or tool_calls"
_LAST_RULE = "Expected last role User or Tool"
_CONTEXT = re.compile(r"maximum context length is (\d+)")
_HOST_PROBES = {
    "host-tool-then-user": _ROLE_RULE,
    "host-empty-assistant": _EMPTY_RULE,
    "host-trailing-assistant": _LAST_RULE,
}


def _tool_turn(call_id: str) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    return [
        *_user("What time is it in Paris?"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": "09:00"},
    ]


def host_probes(model: str) -> list[Probe]:
    """The host probes, sent once per run with the first model."""
    hello = _user("Reply with the single word: hello")
    probes = [
        _chat(
            "host-tool-then-user",
            "[user, assistant(tool_calls), tool, user], unshaped",
            model,
            HOST,
            messages=[*_tool_turn("abcDEF123"), *_user("And in Rome?")],
            max_tokens=8,
        ),
        _chat(
            "host-empty-assistant",
            "an assistant message with empty content and no tool calls, unshaped",
            model,
            HOST,
            messages=[*hello, {"role": "assistant", "content": ""}, *hello],
            max_tokens=8,
        ),
        _chat(
            "host-trailing-assistant",
            "a conversation ending on an assistant message, unshaped",
            model,
            HOST,
            messages=[*hello, {"role": "assistant", "content": "Hel"}],
            max_tokens=8,
        ),
        _chat(
            "host-long-tool-call-id",
            "a 10-character tool-call id (vLLM keeps its last 9; Mistral's API refuses it)",
            model,
            HOST,
            messages=_tool_turn("Xabc123def"),
            max_tokens=8,
        ),
        _chat(
            "host-context-over-40000",
            "max_tokens 40,001 after a 1,000-token prompt: over a 40,000 or 40,960 context",
            model,
            HOST,
            ABORT_IF_ACCEPTED,
            # tekken gives every digit a token: about 1,000 prompt tokens in 1,000 bytes
            messages=_user("Ignore these digits: " + "0123456789" * 100),
            max_tokens=40_001,
            stream=True,
        ),
    ]
    return probes


def billed_tokens(probe: Probe) -> int:
    """What a probe can cost in completion tokens: the context probe is refused by any host
    serving less than 41,000 tokens, and one that accepts it is disconnected at once."""
    return 0 if ABORT_IF_ACCEPTED in probe.tags else probe.max_tokens


@dataclass
class HostVerdict:
    """The host profile the answers match, and what each answer showed."""

    profile: str = "unknown"
    evidence: list[str] = field(default_factory=list)


def _message(exchange: Exchange) -> str:
    try:
        body = json.loads(exchange.text)
    except ValueError:
        return exchange.text[:200]
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            body = inner
        message = body.get("message", inner if isinstance(inner, str) else "")
        return str(message)
    return ""


def classify(answers: dict[str, Exchange]) -> HostVerdict:
    """Name the profile from the host probes' answers (keyed by probe name)."""
    verdict = HostVerdict()
    refused_as_vllm = answered = 0
    for name, rule in _HOST_PROBES.items():
        exchange = answers.get(name)
        if exchange is None:
            continue
        message = _message(exchange)
        if exchange.status == 400 and rule in message:
            refused_as_vllm += 1
            verdict.evidence.append(f"`{name}`: refused by Mistral's tokenizer ({message!r})")
        elif exchange.status == 200:
            answered += 1
            verdict.evidence.append(f"`{name}`: answered (HTTP 200)")
        else:
            verdict.evidence.append(f"`{name}`: HTTP {exchange.status} ({message!r})")
    long_id = answers.get("host-long-tool-call-id")
    if long_id is not None:
        accepted = long_id.status == 200
        verdict.evidence.append(
            "`host-long-tool-call-id`: "
            + (
                "accepted (ids cut to their last 9 characters)"
                if accepted
                else f"HTTP {long_id.status} ({_message(long_id)!r})"
            )
        )
    context = answers.get("host-context-over-40000")
    if context is not None:
        found = _CONTEXT.search(_message(context))
        served = f"serves {found.group(1)} tokens" if found else f"HTTP {context.status}"
        if context.status == 200:
            served = "accepted (HTTP 200; the run hung up at once)"
        wording = "newer" if "is too large" in _message(context) else "older"
        detail = f"{served}, vLLM's {wording} wording" if found else served
        verdict.evidence.append(f"`host-context-over-40000`: {detail}")
    if refused_as_vllm == len(_HOST_PROBES) and long_id is not None and long_id.status == 200:
        verdict.profile = "vllm"
    elif answered == len(_HOST_PROBES):
        verdict.profile = "openrouter"
    return verdict
