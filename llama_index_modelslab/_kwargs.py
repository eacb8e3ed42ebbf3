"""Keyword checks: constructor and per-call keywords are refused with a hint, never ignored.

The per-call list and its check are the transport's, shared with the LangChain adapter
(`modelslab_transport.adapters`); here are LlamaIndex's own switches and constructor aliases.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Any

from modelslab_transport import InvalidInputError
from modelslab_transport.adapters import WIRE_PARAMS, check_call_keywords, with_hints

__all__ = ["CALL_SWITCHES", "WIRE_PARAMS", "check_call_kwargs", "check_init_kwargs"]

# LlamaIndex-level switches that callers and LlamaIndex itself pass through **kwargs (agents,
# predict_and_call, structured prediction, LLM.predict's `formatted`); never wire parameters.
CALL_SWITCHES = frozenset(
    {
        "verbose",
        "tool_required",
        "allow_parallel_tool_calls",
        "error_on_no_tool_call",
        "error_on_tool_error",
        "formatted",
    }
)
# Other LlamaIndex integrations' spellings of our settings (OpenAI/OpenAILike: `api_base`;
# Ollama and others: `request_timeout`).
ALIASES = {"api_base": "base_url", "request_timeout": "timeout"}

_PROMPT_FORMATTERS = ("messages_to_prompt", "completion_to_prompt")


def check_init_kwargs(kwargs: dict[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The constructor's keywords with aliases resolved; refuses what is not a setting."""
    kwargs = dict(kwargs)
    for alias, name in ALIASES.items():
        if alias in kwargs:
            value = kwargs.pop(alias)
            if name in kwargs and kwargs[name] != value:
                raise InvalidInputError(
                    f"ModelsLabLLM got both {alias}= and {name}= with different values; "
                    f"{alias} is an alias of {name}: pass one"
                )
            kwargs[name] = value
    if kwargs.pop("is_chat_model", True) is not True:
        raise InvalidInputError(
            "ModelsLabLLM is a chat model: ModelsLab serves only chat/completions, so "
            "is_chat_model=False cannot be honoured (complete() sends the prompt as a user message)"
        )
    for name in _PROMPT_FORMATTERS:
        if kwargs.get(name) is not None:
            raise InvalidInputError(
                f"ModelsLabLLM does not use {name}: it is a chat model, and the server applies "
                "the model's own chat template to the messages, as for OpenAI/OpenAILike chat "
                "models (which ignore it). Use system_prompt= or a ChatPromptTemplate instead"
            )
        kwargs.pop(name, None)
    names = set(known) | set(ALIASES) | {"is_chat_model"}
    _refuse_unknown("ModelsLabLLM got unknown parameter(s)", kwargs, names, "additional_kwargs")
    return kwargs


def check_call_kwargs(kwargs: dict[str, Any], extra: Iterable[str]) -> dict[str, Any]:
    """Refuse a per-call keyword that is neither a request parameter nor a LlamaIndex switch
    (nor a key of `additional_kwargs`, `extra`); return the checked `extra_body`."""
    return check_call_keywords(
        kwargs,
        what="ModelsLabLLM got unknown call keyword(s)",
        framework_keys=CALL_SWITCHES | {"timeout"} | set(extra),
    )


def _refuse_unknown(what: str, kwargs: dict[str, Any], names: Set[str], channel: str) -> None:
    unknown = sorted(str(k) for k in kwargs if k not in names)
    if unknown:
        raise InvalidInputError(
            f"{what} {with_hints(unknown, names)}; pass extra API fields in {channel}={{...}}"
        )
