"""Keyword checks: constructor and per-call keywords are refused with a hint, never ignored.

A misspelled keyword (`temprature=`, `max_token=`) silently dropped or sent is a bug the user
cannot see; refusing it before anything is sent, with the closest known name, costs nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Set
from typing import Any

from modelslab_transport import InvalidInputError

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

# Request-body parameters a call may set (ModelsLab's chat/completions, OpenAI-shaped). Anything
# else goes through the explicit channels: `additional_kwargs` or a per-call `extra_body={...}`.
WIRE_PARAMS = frozenset(
    {
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "top_k",
        "seed",
        "stop",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "repetition_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "user",
        "stream_options",
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


def check_call_kwargs(kwargs: dict[str, Any], extra: Iterable[str]) -> None:
    """Refuse a per-call keyword that is neither a request parameter nor a LlamaIndex switch."""
    names = WIRE_PARAMS | CALL_SWITCHES | {"timeout", "extra_body"} | set(extra)
    _refuse_unknown("ModelsLabLLM got unknown call keyword(s)", kwargs, names, "extra_body")


def _refuse_unknown(what: str, kwargs: dict[str, Any], names: Set[str], channel: str) -> None:
    unknown = sorted(str(k) for k in kwargs if k not in names)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(names), n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise InvalidInputError(
        f"{what} {', '.join(hints)}; pass extra API fields in {channel}={{...}}"
    )
