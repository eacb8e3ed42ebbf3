"""`import` loads only what a model's construction needs: httpx, the clients, the Redis store and
the structured-output helpers load on first use (a faster import; docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

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
    "langchain_core.tools",  # langchain-core's chat model does without it; so does ours
)

_CODE = """
import json, sys
import {package}
before = [m for m in {modules!r} if m in sys.modules]
{use}
after = [m for m in {modules!r} if m in sys.modules]
print(json.dumps({{"before": before, "after": after, "texts": globals().get("texts")}}))
"""


def _seen(package: str, modules: tuple[str, ...], use: str) -> dict[str, Any]:
    """Which of `modules` a fresh interpreter had after `import package`, and after `use`."""
    code = _CODE.format(package=package, modules=modules, use=use)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    seen: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return seen


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
    seen = _seen(package, DEFERRED, use)
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
    assert all(getattr(mt, name) is not None for name in mt.__all__)  # each lazy name resolves
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        mt.Nope  # noqa: B018


def test_dir_lists_the_lazy_names_before_their_first_use() -> None:
    code = (
        "import sys, modelslab_transport as mt\n"
        "assert 'modelslab_transport._decoding' not in sys.modules\n"
        "print(sorted(set(mt.__all__) - set(dir(mt))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"


# What only sending or reading a request needs: loaded by the first call, never by the import.
DECODING = (
    "modelslab_transport._decoding",
    "modelslab_transport._failures",
    "modelslab_transport._reasoning",
    "modelslab_transport._retry_hints",
    "modelslab_transport._sse",
    "modelslab_transport._tool_calls",
)

# A request and a stream over the emulator: the texts each gave, the deferred modules working.
FIRST_CALLS = {
    "langchain_modelslab": (
        ("modelslab_transport._events",),
        "m = langchain_modelslab.ChatModelsLab(api_key='test-key-import', base_url={base_url!r})\n"
        "texts = [m.invoke('Hi').content, ''.join(c.content for c in m.stream('Hi'))]",
    ),
    "llama_index_modelslab": (
        (),  # its stream helpers build on the events, imported with them
        "from llama_index.core.base.llms.types import ChatMessage\n"
        "m = llama_index_modelslab.ModelsLabLLM(api_key='test-key-import', base_url={base_url!r})\n"
        "msgs = [ChatMessage(role='user', content='Hi')]\n"
        "texts = [m.chat(msgs).message.content, ''.join(r.delta for r in m.stream_chat(msgs))]",
    ),
}


@pytest.mark.parametrize("package", sorted(FIRST_CALLS))
def test_decoding_loads_with_the_first_call(package: str, base_url: str) -> None:
    extra, call = FIRST_CALLS[package]
    modules = DECODING + extra
    seen = _seen(package, modules, call.format(base_url=base_url))
    assert seen["before"] == []
    assert seen["after"] == list(modules)
    request_text, stream_text = seen["texts"]
    assert request_text and stream_text


def test_langchain_core_loads_before_our_modules() -> None:
    # The same langchain-core modules cost ~80 ms more loaded after ours (langchain_modelslab/__init__).
    code = "import json, sys, langchain_modelslab; print(json.dumps(list(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    order = json.loads(proc.stdout)  # sys.modules keeps the order imports started in
    ours = [i for i, name in enumerate(order) if name.startswith("modelslab_transport")]
    assert order.index("langchain_core.language_models.chat_models") < min(ours)
