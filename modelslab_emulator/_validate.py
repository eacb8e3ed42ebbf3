"""Validation of request bodies into normalised model requests (400/404 on bad input)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._catalog import ModelInfo, find_model
from ._errors import ApiError, vllm_context_error
from ._model import ModelRequest
from ._text import prompt_tokens
from ._tools import ToolSpec

if TYPE_CHECKING:
    from ._vllm import VllmHost

#: The documented roles (OpenAI's "developer" and "function" are not among them).
_ROLES = frozenset({"system", "user", "assistant", "tool"})
#: What the v7 API generates when a request sets no ``max_tokens`` (its OpenAPI file's default).
DEFAULT_MAX_TOKENS = 1000


@dataclass(frozen=True)
class ChatRequest:
    """A validated ``/chat/completions`` request."""

    model: ModelRequest
    model_id: str
    stream: bool
    include_usage: bool
    n: int


def bad(message: str) -> ApiError:
    """A 400 error."""
    return ApiError(400, message)


def require_object(body: Any) -> dict[str, Any]:
    """The body as a JSON object, else 400."""
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object.")
    return body


def lookup_model(body: dict[str, Any], *fields: str) -> tuple[ModelInfo, str]:
    """The served model named by the first present field, else 400 / 404."""
    model_id = next((body[f] for f in fields if body.get(f) is not None), None)
    if not isinstance(model_id, str) or not model_id.strip():
        raise bad(f"The {fields[0]} field is required.")
    model = find_model(model_id)
    if model is None:
        raise ApiError(404, f"Model not found: {model_id}")
    return model, model_id


def number_in(body: dict[str, Any], name: str, low: float, high: float) -> None:
    """400 unless ``body[name]`` is absent/null or a number within ``[low, high]``."""
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad(f"Invalid {name}: must be a number between {low:g} and {high:g}.")


def int_at_least(body: dict[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    """``body[name]`` as an int within bounds, None when absent, else 400."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad(f"Invalid {name}: must be an integer >= {low}.")
    if high is not None and value > high:
        raise bad(f"Invalid {name}: must be an integer between {low} and {high}.")
    return value


def stop_list(value: Any, name: str = "stop") -> list[str]:
    """``stop``: a string or up to 4 strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise bad(f"Invalid {name}: must be a string or a list of strings.")
    if len(value) > 4:
        raise bad(f"Invalid {name}: at most 4 stop sequences are allowed.")
    return list(value)


def check_context(model: ModelInfo, tokens: int) -> None:
    """400 when the prompt does not fit the model's context window."""
    if tokens > model.context_window:
        raise bad(
            f"This model's maximum context length is {model.context_window} tokens. However, "
            f"your messages resulted in {tokens} tokens. Please reduce the length of the messages."
        )


def check_served(served: int, prompt: int, max_tokens: int) -> None:
    """vLLM's 400 when prompt plus ``max_tokens`` exceed the served context."""
    if prompt + max_tokens > served:
        raise vllm_context_error(served, prompt, max_tokens)


def parse_chat(
    body: Any, *, unicode: bool = False, served: int | None = None, host: VllmHost | None = None
) -> ChatRequest:
    """Validate a ``/chat/completions`` body; ``served`` overrides the model's served context;
    ``host``: the vLLM profile's rules, counting and errors (None: the OpenRouter profile)."""
    body = require_object(body)
    model, model_id = lookup_model(body, "model_id", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad("The messages field is required and must be a non-empty list.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise bad(
                f"Invalid messages[{index}]: role must be one of system, user, assistant, tool."
            )
    number_in(body, "temperature", 0, 2)
    number_in(body, "top_p", 0, 1)
    number_in(body, "repetition_penalty", 0.1, 2)
    int_at_least(body, "top_k", 1)
    n = int_at_least(body, "n", 1, 10) or 1
    max_tokens = int_at_least(body, "max_tokens", 1)
    max_tokens = int_at_least(body, "max_completion_tokens", 1) or max_tokens
    max_tokens = max_tokens or DEFAULT_MAX_TOKENS
    tools = _tools(body.get("tools"))
    choice, forced = _tool_choice(body.get("tool_choice"), tools)
    response_format = body.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict)
        or response_format.get("type") not in ("text", "json_object", "json_schema")
    ):
        raise bad("Invalid response_format: type must be text, json_object or json_schema.")
    served = served or model.served_context
    counted: int | None = None
    if host is not None:
        messages = host.admit(model, messages)
        counted = host.prompt_tokens(model, messages, body.get("tools"))
        model = host.model_for(model, messages)
        if served:
            host.check_context(served, counted, max_tokens)
        else:
            check_context(model, counted)
    elif served:
        check_served(served, prompt_tokens(messages), max_tokens)
    else:
        check_context(model, prompt_tokens(messages))
    options = body.get("stream_options")
    request = ModelRequest(
        model=model,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        response_format=response_format,
        max_tokens=max_tokens,
        stop=stop_list(body.get("stop")),
        unicode=unicode,
        prompt_tokens=counted,
    )
    return ChatRequest(
        model=request,
        model_id=model_id,
        stream=bool(body.get("stream") or body.get("streaming")),
        include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
        n=n,
    )


def _tools(value: Any) -> list[ToolSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad("Invalid tools: must be a list.")
    tools = []
    for index, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(function, dict) or not isinstance(name, str) or not name:
            raise bad(f"Invalid tools[{index}]: expected {{type: function, function: {{name}}}}.")
        parameters = function.get("parameters")
        tools.append(ToolSpec(name, parameters if isinstance(parameters, dict) else {}))
    return tools


def _tool_choice(value: Any, tools: list[ToolSpec]) -> tuple[str, str | None]:
    if value is None:
        return "auto", None
    if value in ("auto", "none", "required", "any"):
        return ("required" if value == "any" else str(value)), None
    if isinstance(value, dict):
        function = value.get("function")
        name = function.get("name") if isinstance(function, dict) else value.get("name")
        if isinstance(name, str) and any(t.name == name for t in tools):
            return "required", name
        raise bad(f"Invalid tool_choice: no tool named {name!r}.")
    raise bad("Invalid tool_choice: must be auto, none, required or a function.")
