"""A short terminal tour of the ModelsLab integrations.

Uses real ModelsLab when MODELSLAB_API_KEY is set; otherwise starts the bundled emulator on
loopback and says so. Exits non-zero on any failure.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack

from modelslab_transport import (
    DEFAULT_MODEL,
    FinishEvent,
    ModelsLabClient,
    ModelsLabError,
    ReasoningDelta,
    TextDelta,
    UsageEvent,
    build_chat_payload,
)

DIM, RESET = ("\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "")


def _connect(stack: ExitStack) -> dict[str, str]:
    if os.environ.get("MODELSLAB_API_KEY"):
        print("Using real ModelsLab (MODELSLAB_API_KEY is set).")
        return {}
    from modelslab_emulator import Emulator

    emulator = stack.enter_context(Emulator())
    print(f"MODELSLAB_API_KEY is not set: using the offline emulator at {emulator.base_url}")
    return {"api_key": "demo-key", "base_url": emulator.base_url}


def _stream_with_transport(client: ModelsLabClient) -> None:
    print("\n== Streaming through modelslab_transport")
    payload = build_chat_payload(
        DEFAULT_MODEL,
        [{"role": "user", "content": "In one sentence, why is the sky blue?"}],
        stream=True,
        max_tokens=400,
    )
    in_reasoning = False
    for event in client.stream_chat(payload):
        if isinstance(event, ReasoningDelta):
            if not in_reasoning:
                print(f"{DIM}[reasoning] ", end="")
                in_reasoning = True
            print(f"{DIM}{event.text}{RESET}", end="", flush=True)
        elif isinstance(event, TextDelta):
            if in_reasoning:
                print(f"{RESET}\n[answer] ", end="")
                in_reasoning = False
            print(event.text, end="", flush=True)
        elif isinstance(event, FinishEvent):
            print(f"\n(finish reason: {event.finish_reason})")
        elif isinstance(event, UsageEvent):
            usage = event.usage
            print(
                f"(usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion "
                f"= {usage.total_tokens} tokens)"
            )


def main() -> int:
    with ExitStack() as stack:
        settings = _connect(stack)
        try:
            with ModelsLabClient(**settings) as client:
                _stream_with_transport(client)
        except ModelsLabError as exc:
            print(f"\nDemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print("\nDemo finished.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
