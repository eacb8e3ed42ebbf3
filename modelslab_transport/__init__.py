"""A thin, typed transport for ModelsLab's LLM API, shared by the LangChain and LlamaIndex
adapters: auth, request payloads, retries, timeouts, per-key concurrency limits, SSE decoding,
neutral stream events and typed errors, over httpx. No framework imports.

>>> from modelslab_transport import ModelsLabClient, build_chat_payload, DEFAULT_MODEL
>>> client = ModelsLabClient()  # doctest: +SKIP  (reads MODELSLAB_API_KEY)
>>> payload = build_chat_payload(DEFAULT_MODEL, [{"role": "user", "content": "Hi"}])
>>> for event in client.stream_chat(payload):  # doctest: +SKIP
...     print(event)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each module's `__all__` is its public names: listed there once, exported here.
from . import _errors, _payload, _settings
from ._errors import *  # noqa: F403
from ._payload import *  # noqa: F403
from ._settings import *  # noqa: F403
from .limits import _errors as _limiter_errors
from .limits._errors import *  # noqa: F403
from .models._tools import normalize_tool_call_id, tool_choice_for_wire, wire_tool_call

if TYPE_CHECKING:
    from ._async_client import AsyncModelsLabClient
    from ._client import ModelsLabClient
    from ._decoding import StreamDecoder, parse_completion
    from ._events import *  # noqa: F403  (type checkers only: hence F405 off below)
    from ._sse import ServerSentEvent, SSEDecoder

# Loaded on first use, for a faster `import`: the clients (httpx), then what only a request needs
# (decoding, SSE; the events: `__all__`'s names not imported above), then names that moved out of
# `__all__` and every name in `models.__all__`, still importable from here for older code.
_LAZY = {
    "AsyncModelsLabClient": "._async_client",
    "ModelsLabClient": "._client",
    "StreamDecoder": "._decoding",
    "parse_completion": "._decoding",
    "SSEDecoder": "._sse",
    "ServerSentEvent": "._sse",
    "limiter_url_has_password": ".limits",
    "masked_limiter_url": ".limits",
    "StreamAccumulator": "._events",
    "ThinkSplitter": "._reasoning",
    "SettingsKwargs": "._settings",
    "ToolCallAssembler": "._tool_calls",
}


def __getattr__(name: str) -> Any:
    from . import models  # loaded already, by `_payload`

    module = _LAZY.get(name, ".models" if name in models.__all__ else None)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(module, __name__), name)
    return value


def __dir__() -> list[str]:  # the lazy names too, before their first use
    return sorted({*globals(), *_LAZY, *__all__})


# ruff: noqa: F405
# The core modules without an `__all__` of their own public names, and the lazy clients.
__all__ = [
    "AsyncModelsLabClient",
    "ChatCompletion",
    "Choice",
    "ChoiceAccumulator",
    "FinishEvent",
    "ModelsLabClient",
    "PartialToolCall",
    "ReasoningDelta",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamDecoder",
    "StreamEvent",
    "StreamStart",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "UsageEvent",
    "accumulate",
    "normalize_tool_call_id",
    "parse_completion",
    "tool_choice_for_wire",
    "wire_tool_call",
]
__all__ += _errors.__all__
__all__ += _limiter_errors.__all__
__all__ += _payload.__all__
__all__ += _settings.__all__
_LAZY.update(dict.fromkeys(set(__all__) - set(globals()) - set(_LAZY), "._events"))
