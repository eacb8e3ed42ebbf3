"""A separate OS process making chat calls through ChatModelsLab or ModelsLabLLM.

Run as `python tests/scale/adapter_worker_process.py '<json>'`: prints "READY", waits for a line on
stdin, sends `n` prompts at once (one thread each) and prints one JSON line: the answers in
order and the type names of any errors. `n` = 1 with a slow scenario makes a slot holder that
a test can SIGKILL mid-request.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def build(cfg: dict[str, Any]) -> Any:
    common: dict[str, Any] = {
        "api_key": cfg["key"],
        "base_url": cfg["base_url"],
        "limiter_url": cfg.get("limiter_url"),
        "max_concurrent_requests": cfg.get("limit", 5),
        "default_headers": cfg.get("headers") or None,
        "max_retries": 0,  # every resend a test sees is a queue-aware one
    }
    if cfg["adapter"] == "langchain":
        from langchain_modelslab import ChatModelsLab

        return ChatModelsLab(**common)
    from llama_index_modelslab import ModelsLabLLM

    return ModelsLabLLM(**common)


def ask(llm: Any, adapter: str, prompt: str) -> str:
    if adapter == "langchain":
        return str(llm.invoke(prompt).content)
    return str(llm.complete(prompt).text)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    llm = build(cfg)
    print("READY", flush=True)
    sys.stdin.readline()
    prompts = [f"{cfg['tag']} prompt {i}" for i in range(cfg["n"])]
    errors: list[str] = []

    def one(prompt: str) -> str:
        try:
            return ask(llm, cfg["adapter"], prompt)
        except Exception as exc:  # reported by type: the test asserts on it
            errors.append(type(exc).__name__)
            return ""

    with ThreadPoolExecutor(len(prompts)) as pool:
        answers = list(pool.map(one, prompts))
    print(json.dumps({"prompts": prompts, "answers": answers, "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
