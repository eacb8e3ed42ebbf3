"""`import` loads only what a model's construction needs: httpx, the clients, the Redis store and
the structured-output helpers load on first use (a faster import; docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Loaded on first use, never by importing a package.
DEFERRED = (
    "httpx",
    "redis",
    "modelslab_transport._client",
    "modelslab_transport._async_client",
    "modelslab_transport._retry",
    "modelslab_transport._stream_reader",
    "modelslab_transport.limits.redis",
    "modelslab_transport.limits.redis._store",
    "modelslab_transport.limits.redis._slots",
    "modelslab_transport.limits._machine",
    "langchain_modelslab._structured",
    "langchain_modelslab._format_fallback",
)

_CODE = """
import json, sys
import {package}
before = [m for m in {deferred!r} if m in sys.modules]
{use}
after = [m for m in {deferred!r} if m in sys.modules]
print(json.dumps({{"before": before, "after": after}}))
"""

# Using the package loads what the import left out: the check sees real module names.
USES = {
    "modelslab_transport": (
        "modelslab_transport.ModelsLabClient(api_key='k', base_url='http://127.0.0.1:9')",
        {"httpx", "modelslab_transport._client"},
    ),
    "langchain_modelslab": (
        "m = langchain_modelslab.ChatModelsLab(api_key='k', base_url='http://127.0.0.1:9')\n"
        "m._sync_client(); m.with_structured_output({'title': 'T', 'type': 'object'})",
        {"httpx", "modelslab_transport._client", "langchain_modelslab._structured"},
    ),
    "llama_index_modelslab": (
        "m = llama_index_modelslab.ModelsLabLLM(api_key='k', base_url='http://127.0.0.1:9')\n"
        "m._get_client()",
        {"httpx", "modelslab_transport._client"},
    ),
}


@pytest.mark.parametrize("package", sorted(USES))
def test_import_defers_httpx_clients_redis_and_structured(package: str) -> None:
    use, loaded_by_use = USES[package]
    code = _CODE.format(package=package, deferred=DEFERRED, use=use)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["before"] == []
    assert loaded_by_use <= set(seen["after"])


def test_lazy_names_are_the_real_objects() -> None:
    import modelslab_transport as mt
    from modelslab_transport._client import ModelsLabClient
    from modelslab_transport._payload import max_tokens_sent
    from modelslab_transport.limits._url import masked_limiter_url
    from modelslab_transport.models import fill_max_tokens  # a name kept from before `models`

    assert mt.ModelsLabClient is ModelsLabClient and mt.fill_max_tokens is fill_max_tokens
    assert mt.max_tokens_sent is max_tokens_sent and mt.masked_limiter_url is masked_limiter_url
    assert set(mt.__all__) <= set(dir(mt)) | set(mt._LAZY)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        mt.Nope  # noqa: B018
