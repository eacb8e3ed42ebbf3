"""A Ray local cluster runs a batch over ChatModelsLab and ModelsLabLLM on one key.

Four Ray tasks (separate worker processes), two per adapter, each send 3 prompts at once: 12
requests want to be in flight together against an emulator that, like ModelsLab, refuses a
key's sixth. Every answer must come back right and the server must never see more than 5.

With the shared limiter (`limiter_url`, a real redis-server) the processes hold the limit
together, so the server refuses nothing, and the tasks overlap up to the limit.

Everything stays on loopback: Ray is imported from `_ray_loopback`, which makes the cluster a
single-machine one (node address 127.0.0.1, every Ray server bound to it); the dashboard is off
and usage statistics are disabled. The test checks the node's address and that no Ray process
holds a connection to anything but loopback.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator

import pytest
import redis

from modelslab_emulator import Emulator
from tests.support.holder_processes import checkout_path
from tests.support.redis_server import RedisServer

from ._ray_loopback import off_loopback_sockets, ray

pytestmark = [pytest.mark.ray, pytest.mark.redis, pytest.mark.timeout(120)]

KEY = "ray-test-key-0123456789"
MODEL = "meta-llama-llama-3.1-8b-instruct"
LIMIT = 5
TASKS = 4
PER_TASK = 3
READY = "ray-test:ready"
SCENARIO = {"X-Emulator-Scenario": "slow-first-byte;delay=0.3"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    # The workers import this module (the remote function's home) and the packages from the
    # repository root, as the driver does.
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = checkout_path()
    ray.init(
        num_cpus=TASKS,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield
    finally:
        ray.shutdown()
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path


def _all_ready(redis_url: str) -> None:
    """A barrier: Ray starts workers one after another (seconds apart on 2 cores), so each task
    waits, after its imports, until every task is ready; then all send at once."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    client.incr(READY)
    deadline = time.monotonic() + 60
    while int(client.get(READY) or 0) < TASKS and time.monotonic() < deadline:
        time.sleep(0.01)
    client.close()


@ray.remote
def _ask(
    adapter: str, base_url: str, prompts: list[str], limiter_url: str
) -> tuple[int, list[str]]:
    settings = {
        "model": MODEL,
        "api_key": KEY,
        "base_url": base_url,
        "default_headers": SCENARIO,
        "limiter_url": limiter_url,
    }
    if adapter == "langchain":
        from langchain_modelslab import ChatModelsLab

        chat = ChatModelsLab(**settings)
        _all_ready(limiter_url)
        replies = chat.batch(prompts, config={"max_concurrency": len(prompts)})  # type: ignore[arg-type]
        return os.getpid(), [str(reply.content) for reply in replies]

    from llama_index.core.llms import ChatMessage

    from llama_index_modelslab import ModelsLabLLM

    llm = ModelsLabLLM(**settings)
    _all_ready(limiter_url)

    async def all_at_once() -> list[str]:
        replies = await asyncio.gather(
            *(llm.achat([ChatMessage(role="user", content=p)]) for p in prompts)
        )
        return [str(reply.message.content) for reply in replies]

    return os.getpid(), asyncio.run(all_at_once())


def test_a_ray_batch_over_both_adapters_keeps_the_key_under_its_plan_limit(
    cluster: None, redis_server: RedisServer
) -> None:
    limiter_url = redis_server.url
    with Emulator(queue_limit=LIMIT, queue_retry_after=0.2) as emulator:
        prompts = [[f"ray prompt {t}-{i}" for i in range(PER_TASK)] for t in range(TASKS)]
        adapters = ["langchain", "llama_index"] * (TASKS // 2)
        futures = [
            _ask.remote(adapter, emulator.base_url, chunk, limiter_url)
            for adapter, chunk in zip(adapters, prompts, strict=True)
        ]
        results = ray.get(futures, timeout=90)
        # The cluster stayed on loopback: its node address, and every socket of the driver, the
        # GCS, the raylet and the workers (all descend from this process).
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
        assert off_loopback_sockets(os.getpid()) == []

        pids = {pid for pid, _ in results}
        assert os.getpid() not in pids and len(pids) >= 2
        answers = [chunk for _, chunk in results]
        assert answers == [[f"You said: {p}" for p in chunk] for chunk in prompts]
        fingerprint = Emulator.fingerprint(KEY)
        peak = emulator.max_in_flight[fingerprint]
        refused = emulator.rate_limited.get(fingerprint, 0)
        answered = [
            r for r in emulator.requests if r.path.endswith("/chat/completions") and r.status == 200
        ]
        print(
            f"ray: {len(answered)}/{TASKS * PER_TASK} answered by {len(pids)} worker processes, "
            f"peak in flight {peak} of {LIMIT}, {refused} 429s"
        )
        assert len(answered) == TASKS * PER_TASK
        assert peak <= LIMIT
        assert refused == 0
        # The limit was in use, not idle: the tasks overlapped up to it.
        assert peak == LIMIT


def test_the_loopback_check_sees_a_listener_on_every_interface() -> None:
    """The check above can fail: a listener bound to 0.0.0.0 by this process is reported."""
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        found = off_loopback_sockets(os.getpid())
        assert f"pid {os.getpid()}: 0.0.0.0:{port} -> 0.0.0.0 (state 0A)" in found, found
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert off_loopback_sockets(os.getpid()) == []
