"""``python -m modelslab_emulator``: serve the emulator in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._emulator import Emulator
from ._vllm import DEFAULT_PROFILE, PROFILES


def main(argv: Sequence[str] | None = None) -> None:
    """Run the emulator until interrupted; prints its base URL on the first line."""
    parser = argparse.ArgumentParser(
        prog="modelslab-emulator", description="ModelsLab's LLM API, emulated on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable); default: any non-empty key",
    )
    parser.add_argument(
        "--served-context",
        type=int,
        default=None,
        metavar="TOKENS",
        help="every model serves this context: prompt + max_tokens over it gets vLLM's 400 "
        "(default: each model's own; Magistral 40960)",
    )
    parser.add_argument(
        "--queue-limit",
        type=int,
        default=None,
        metavar="N",
        help="every key may have N requests in flight; more get ModelsLab's 429 "
        "(default: no limit)",
    )
    parser.add_argument(
        "--queue-retry-after",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="retry_after of the queue limit's 429 (default 1)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="the host emulated: openrouter (default) or vllm (Magistral on vLLM in Mistral "
        "tokenizer mode: its conversation rules, tekken counting, vLLM errors and stream)",
    )
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(
            args.host,
            args.port,
            args.api_keys,
            served_context=args.served_context,
            queue_limit=args.queue_limit,
            queue_retry_after=args.queue_retry_after,
            profile=args.profile,
        ).start()
    except (ValueError, OSError) as error:
        parser.exit(2, f"modelslab-emulator: {error}\n")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(emulator.base_url, flush=True)
    print("ModelsLab emulator running; Ctrl-C to stop.", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
