"""The vLLM-profile wire fixtures (``tests/fixtures/wire/vllm/``): each one's request, the
scenario that answers it, and what the transport must make of the reply.

``python -m tests.emulator.vllm_fixtures`` rewrites the fixture files from a fresh emulator;
``test_vllm_fixtures.py`` checks that the emulator still answers each request with its bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from modelslab_emulator import Emulator
from tests.support.stdlib_http import MAGISTRAL, call

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "wire" / "vllm"
VLLM = "profile;name=vllm"
_TOOL_TURN = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "abcDEF123",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "abcDEF123", "content": "sunny, 21C"},
]
_TERSE_HI = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Hi there"},
]
_LONG = "Revenue rose 12.5% to $4,310,000 in fiscal 2024; the board's outlook is unchanged. "


def _refused(message: str, error: str = "BadRequestError") -> dict[str, Any]:
    return {"error": error, "status_code": 400, "message": message}


def _call(ids: tuple[str, ...]) -> list[dict[str, Any]]:
    calls = [
        {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        for i in ids
    ]
    return [
        _TOOL_TURN[0],
        {"role": "assistant", "content": None, "tool_calls": calls},
        *({"role": "tool", "tool_call_id": i, "content": "sunny"} for i in ids),
    ]


#: name → (what it shows, scenario, request body, expect)
CASES: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "user-after-tool-400": (
        "a second agent turn, [user, assistant(tool_calls), tool, user], refused by mistral-common",
        VLLM,
        {"messages": [*_TOOL_TURN, {"role": "user", "content": "And tomorrow?"}]},
        _refused("Unexpected role 'user' after role 'tool'"),
    ),
    "empty-assistant-400": (
        "an assistant message with empty content and no tool calls in the history",
        VLLM,
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "Hi again"},
            ]
        },
        _refused("Assistant message must have either content or tool_calls, but not none."),
    ),
    "trailing-assistant-400": (
        "a conversation ending on an assistant message without prefix: true",
        VLLM,
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hel"}]},
        _refused(
            "Expected last role User or Tool (or Assistant with prefix True) for serving but "
            "got assistant"
        ),
    ),
    "tool-call-ids-collide-400": (
        "two tool-call ids of one turn whose last 9 characters are the same",
        VLLM,
        {"messages": _call(("first_abc123xyz", "second_abc123xyz"))},
        _refused("Duplicate tool call id abc123xyz in assistant message"),
    ),
    "context-old-wording-40000-400": (
        "prompt + max_tokens over a 40,000-token served context, vLLM's older wording",
        f"{VLLM}, served-context;tokens=40000",
        {"messages": [{"role": "user", "content": _LONG}], "max_tokens": 40_001},
        {"error": "ContextLengthExceededError", "status_code": 400},
    ),
    "context-new-wording-40960-400": (
        "prompt + max_tokens over a 40,960-token served context, vLLM's newer wording",
        f"{VLLM};context_error=new, served-context;tokens=40960",
        {"messages": [{"role": "user", "content": _LONG}], "max_tokens": 40_960},
        {"error": "ContextLengthExceededError", "status_code": 400},
    ),
    "prompt-too-long-new-wording-400": (
        "a prompt alone over the 40,960-token served context, vLLM's newer wording",
        f"{VLLM};context_error=new",
        # tekken gives every digit a token: 42,000 digits make a prompt over 40,960 tokens
        {"messages": [{"role": "user", "content": "0123456789" * 4200}], "max_tokens": 1000},
        {"error": "ContextLengthExceededError", "status_code": 400},
    ),
    "error-string-402": (
        'an error body that is a plain string, {"error": "..."}',
        "error-string;status=402;message=Insufficient balance",
        {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16},
        {
            "error": "InsufficientCreditsError",
            "status_code": 402,
            "message": "Insufficient balance",
        },
    ),
    "no-think-custom-system": (
        "Magistral on vLLM under a custom system prompt: an answer with no <think> block",
        VLLM,
        {"messages": _TERSE_HI, "max_tokens": 64},
        {"content": "You said: Hi there", "reasoning": "", "finish_reason": "stop"},
    ),
    "stream-chatcmpl-usage": (
        "a vLLM stream: chatcmpl- ids, no comment lines, a usage-only chunk",
        VLLM,
        {
            "messages": _TERSE_HI,
            "max_tokens": 64,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        {"content": "You said: Hi there", "finish_reason": "stop"},
    ),
}


def request_body(name: str) -> dict[str, Any]:
    """The request body of fixture ``name`` as sent."""
    return {"model_id": MAGISTRAL, **CASES[name][2]}


def answer(emu: Emulator, name: str) -> tuple[int, str, str]:
    """(status, content type, body text) of the emulator's answer to fixture ``name``."""
    resp = call(emu, "/chat/completions", request_body(name), scenario=CASES[name][1])
    return resp.status, resp.headers["content-type"], resp.body.decode("utf-8")


#: What changes on every answer: response ids and timestamps.
_VOLATILE = re.compile(r'"(id|created)":("[^"]*"|\d+)')


def stable(text: str) -> str:
    """``text`` with ids and timestamps blanked, to compare two answers."""
    return _VOLATILE.sub(r'"\1":_', text)


def write_all() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    with Emulator() as emu:
        for name, (shows, scenario, _, expect) in CASES.items():
            status, content_type, text = answer(emu, name)
            document = {
                "name": name,
                "source": f"modelslab_emulator, scenario {scenario!r}: {shows} "
                "(modelslab-api.md, second pass)",
                "request": {
                    "method": "POST",
                    "path": "/chat/completions",
                    "headers": {
                        "authorization": "Bearer [REDACTED]",
                        "content-type": "application/json",
                    },
                    "body": request_body(name),
                },
                "response": {
                    "status": status,
                    "headers": {"content-type": content_type},
                    "body": text,
                },
                "expect": expect,
            }
            path = FOLDER / f"{name}.json"
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    write_all()
