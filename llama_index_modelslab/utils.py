"""Pure conversions between LlamaIndex types and ModelsLab's wire shapes.

Nothing here sends a request: every function takes plain values and returns plain values, so
each conversion is testable without HTTP. `base.py` wires them to the transport.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection

from modelslab_transport import (
    ChatCompletion,
    InvalidInputError,
    ToolCall,
    Usage,
    normalize_tool_call_id,
    tool_choice_for_wire,
    wire_tool_call,
)
from modelslab_transport.models import model_info

from ._responses import (
    assistant_message,
    chat_response,
    completion_response,
    text_block,
    thinking_block,
)

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "chat_to_completion_response",
    "completion_to_chat_response",
    "force_single_tool_call",
    "make_assistant_message",
    "model_context_window",
    "parse_tool_arguments",
    "resolve_tool_choice",
    "to_wire_message",
    "to_wire_messages",
    "to_wire_tools",
    "tool_selections_from_response",
    "usage_to_dict",
]

#: The context assumed for a model the transport's catalogue does not know.
DEFAULT_CONTEXT_WINDOW = 32_768

_ROLES = {
    MessageRole.SYSTEM: "system",
    # Mistral-family chat templates know no "developer" role.
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


def model_context_window(model: str) -> int:
    """The context a request to `model` must fit in, from the transport's catalogue (Magistral:
    the 40,960 its card recommends serving); `DEFAULT_CONTEXT_WINDOW` for an unknown id."""
    info = model_info(model)
    return info.context_limit if info is not None else DEFAULT_CONTEXT_WINDOW


# -- LlamaIndex -> wire ------------------------------------------------------------------------


def to_wire_messages(
    messages: Sequence[ChatMessage], *, reasoning_in_history: bool = False
) -> list[dict[str, Any]]:
    """Convert chat messages to OpenAI-shaped dicts; the input messages are not modified.

    `reasoning_in_history` sends earlier assistant thinking back inline as `<think>…</think>`
    (Magistral's own format, as ChatModelsLab does); by default it is dropped, as its model
    card recommends.
    """
    return [
        to_wire_message(message, position=i, reasoning_in_history=reasoning_in_history)
        for i, message in enumerate(messages)
    ]


def to_wire_message(
    message: ChatMessage, *, position: int = 0, reasoning_in_history: bool = False
) -> dict[str, Any]:
    """One ChatMessage as a wire dict (`position`: its place in the history).

    Thinking from earlier turns is sent back only with `reasoning_in_history`; tool-call ids
    are normalised to the 9-alphanumeric form Mistral-family back ends insist on (an id-less
    call gets one from its position, see `wire_tool_call`).
    """
    role = _ROLES.get(message.role)
    if role is None:  # pragma: no cover - MessageRole is closed, but stay explicit
        raise InvalidInputError(f"ModelsLab cannot send a message with role {message.role!r}")
    parts: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
        elif isinstance(block, ToolCallBlock):
            tool_calls.append(
                wire_tool_call(
                    block.tool_call_id,
                    block.tool_name,
                    block.tool_kwargs,
                    position=position,
                    index=len(tool_calls),
                )
            )
        elif isinstance(block, (ThinkingBlock, CachePoint)):
            continue
        else:
            raise InvalidInputError(
                f"ModelsLab chat accepts text and image blocks; got a {block.block_type!r} block"
            )
    wire: dict[str, Any] = {"role": role, "content": _content(parts)}
    if role == "assistant":
        if reasoning_in_history and (thinking := _thinking(message)):
            wire["content"] = _with_thinking(thinking, wire["content"])
        if not tool_calls:
            tool_calls = _legacy_tool_calls(message.additional_kwargs.get("tool_calls"), position)
        if tool_calls:
            wire["tool_calls"] = tool_calls
            if not wire["content"]:
                wire["content"] = None
    elif role == "tool":
        call_id = message.additional_kwargs.get("tool_call_id")
        if call_id:
            wire["tool_call_id"] = normalize_tool_call_id(str(call_id))
        if isinstance(wire["content"], list):
            # Tool results are text on every back end; images cannot go there.
            wire["content"] = "\n".join(p.get("text", "") for p in wire["content"])
    return wire


def _thinking(message: ChatMessage) -> str:
    return "".join(
        block.content or "" for block in message.blocks if isinstance(block, ThinkingBlock)
    )


def _with_thinking(
    thinking: str, content: str | list[dict[str, Any]]
) -> str | list[dict[str, Any]]:
    # The same inline form as ChatModelsLab's reasoning_in_history (and Magistral's template).
    think = f"<think>\n{thinking}\n</think>\n"
    if isinstance(content, str):
        return think + content
    return [{"type": "text", "text": think}, *content]


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _image_part(block: ImageBlock) -> dict[str, Any]:
    if block.url is not None and not block.image and not block.path:
        url = str(block.url)
    else:
        url = block.inline_url()
    image_url: dict[str, Any] = {"url": url}
    if block.detail:
        image_url["detail"] = block.detail
    return {"type": "image_url", "image_url": image_url}


def _legacy_tool_calls(raw: Any, position: int = 0) -> list[dict[str, Any]]:
    """Tool calls kept in additional_kwargs (dicts, or OpenAI SDK objects) by older code."""
    if not isinstance(raw, (list, tuple)):
        return []
    calls: list[dict[str, Any]] = []
    for item in raw:
        if isinstance(item, Mapping):
            function = item.get("function") or {}
            call_id, name, args = item.get("id"), function.get("name"), function.get("arguments")
        else:
            function = getattr(item, "function", None)
            call_id = getattr(item, "id", None)
            name = getattr(function, "name", None)
            args = getattr(function, "arguments", None)
        if name:
            calls.append(
                wire_tool_call(
                    call_id, str(name), args or "{}", position=position, index=len(calls)
                )
            )
    return calls


def to_wire_tools(tools: Iterable[BaseTool]) -> list[dict[str, Any]]:
    """LlamaIndex tools as OpenAI-style function specs."""
    return [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]


def resolve_tool_choice(
    tool_choice: str | Mapping[str, Any] | None,
    tool_required: bool,
    tool_names: Sequence[str],
) -> str | dict[str, Any] | None:
    """The wire `tool_choice` (None: send none), by the transport's one rule: unset means
    `"required"` if `tool_required` else `"auto"`; a forced choice without tools is refused."""
    if tool_choice is None:
        tool_choice = "required" if tool_required else "auto"
    return tool_choice_for_wire(tool_choice, tool_names)


# -- wire -> LlamaIndex ------------------------------------------------------------------------


def usage_to_dict(usage: Usage | None) -> dict[str, int]:
    """Token counts in the keys LlamaIndex's token counters read."""
    if usage is None:
        return {}
    counts = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.reasoning_tokens is not None:
        counts["reasoning_tokens"] = usage.reasoning_tokens
    return counts


def make_assistant_message(
    content: str,
    reasoning: str,
    tool_calls: Sequence[ToolCall],
    *,
    complete: bool = True,
    reasoning_tokens: int | None = None,
) -> ChatMessage:
    """An assistant message: thinking block, text block, tool-call blocks, in that order.

    Tool calls also go in `additional_kwargs["tool_calls"]` (OpenAI shape), which LlamaIndex's
    structured-streaming helpers look for. While streaming (`complete=False`) arguments stay the
    raw partial JSON string; once complete they are parsed into a dict when they are valid.
    """
    if not reasoning and not tool_calls:  # most chunks of a stream: the text so far
        return assistant_message([text_block(content)], {})
    blocks: list[Any] = []
    if reasoning:
        blocks.append(thinking_block(reasoning, reasoning_tokens))
    if content or not tool_calls:
        blocks.append(text_block(content))
    additional_kwargs: dict[str, Any] = {}
    if tool_calls:
        wire_calls = []
        for call in tool_calls:
            kwargs: dict[str, Any] | str = call.arguments
            if complete:
                kwargs = _complete_arguments(call.arguments)
            blocks.append(
                ToolCallBlock(tool_call_id=call.id or None, tool_name=call.name, tool_kwargs=kwargs)
            )
            wire_calls.append(
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            )
        additional_kwargs["tool_calls"] = wire_calls
    return assistant_message(blocks, additional_kwargs)


def _complete_arguments(arguments: str) -> dict[str, Any] | str:
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


def completion_to_chat_response(completion: ChatCompletion) -> ChatResponse:
    """A whole (non-streamed) completion as a ChatResponse; usage in raw and additional_kwargs,
    beside the `max_tokens` the answering request was sent with (for traces)."""
    choice = completion.first
    usage = usage_to_dict(completion.usage)
    message = make_assistant_message(
        choice.content,
        choice.reasoning,
        choice.tool_calls,
        reasoning_tokens=completion.usage.reasoning_tokens if completion.usage else None,
    )
    if completion.raw:
        raw = dict(completion.raw)  # the response body as received (it never holds the key)
    else:
        raw = {
            "id": completion.id,
            "object": "chat.completion",
            "model": completion.model,
            "finish_reason": choice.finish_reason,
        }
    if usage and "usage" not in raw:
        raw["usage"] = usage
    additional_kwargs: dict[str, Any] = dict(usage)
    if completion.max_tokens_sent is not None:
        additional_kwargs["max_tokens"] = completion.max_tokens_sent
    if choice.reasoning_state is not None:
        # "cut" (finish length while still reasoning) or "unterminated" (<think> never closed).
        raw["reasoning_state"] = additional_kwargs["reasoning_state"] = choice.reasoning_state
    return chat_response(message, None, raw, additional_kwargs)


def chat_to_completion_response(response: ChatResponse) -> CompletionResponse:
    """A ChatResponse as a CompletionResponse that keeps thinking, tool calls and usage."""
    # Not llama-index-core's chat_response_to_completion_response: it drops the thinking
    # (kept here as a block, not in additional_kwargs) and logprobs, and updates the message's
    # additional_kwargs in place; its stream wrappers never close the chat stream.
    additional_kwargs = dict(response.additional_kwargs)
    thinking = "".join(
        block.content or "" for block in response.message.blocks if isinstance(block, ThinkingBlock)
    )
    if thinking:
        additional_kwargs["thinking"] = thinking
    tool_calls = response.message.additional_kwargs.get("tool_calls")
    if tool_calls:
        additional_kwargs["tool_calls"] = tool_calls
    return completion_response(
        response.message.content or "",
        response.delta,
        response.raw,
        additional_kwargs,
        response.logprobs,
    )


# -- tool calls out of a response ---------------------------------------------------------------


def tool_selections_from_response(
    response: ChatResponse, *, error_on_no_tool_call: bool = True
) -> list[ToolSelection]:
    """Tool calls of a (possibly partial, streamed) response as ToolSelections.

    With `error_on_no_tool_call=False` nothing raises: partial JSON arguments are closed and
    parsed as far as they go (agents and structured streaming call this on every chunk).
    """
    calls: list[tuple[str | None, str, Any]] = [
        (block.tool_call_id, block.tool_name, block.tool_kwargs)
        for block in response.message.blocks
        if isinstance(block, ToolCallBlock)
    ]
    if not calls:
        for wire in _legacy_tool_calls(response.message.additional_kwargs.get("tool_calls")):
            function = wire["function"]
            calls.append((wire["id"], function["name"], function["arguments"]))
    if not calls:
        if error_on_no_tool_call:
            raise ValueError("Expected at least one tool call, but the model answered in text.")
        return []
    selections = []
    for call_id, name, arguments in calls:
        if isinstance(arguments, Mapping):
            kwargs = dict(arguments)
        else:
            try:
                kwargs = parse_tool_arguments(str(arguments), partial=not error_on_no_tool_call)
            except ValueError:
                if error_on_no_tool_call:
                    raise ValueError(
                        f"The model called {name!r} with arguments that are not a JSON object: "
                        f"{str(arguments)[:200]!r}"
                    ) from None
                kwargs = {}
        selections.append(ToolSelection(tool_id=call_id or "", tool_name=name, tool_kwargs=kwargs))
    return selections


def force_single_tool_call(response: ChatResponse) -> None:
    """Keep only the first tool call of a response (when parallel calls were not allowed)."""
    # Same as llama-index-llms-openai's force_single_tool_call (core has none; that package
    # must not become a dependency).
    seen = False
    blocks = []
    for block in response.message.blocks:
        if isinstance(block, ToolCallBlock):
            if seen:
                continue
            seen = True
        blocks.append(block)
    response.message.blocks = blocks
    tool_calls = response.message.additional_kwargs.get("tool_calls")
    if isinstance(tool_calls, list) and len(tool_calls) > 1:
        response.message.additional_kwargs["tool_calls"] = tool_calls[:1]


def parse_tool_arguments(text: str, *, partial: bool = False) -> dict[str, Any]:
    """Tool-call arguments as a dict; with `partial=True`, a JSON prefix is closed first.

    Raises ValueError when the text is not (a prefix of) a JSON object.
    """
    stripped = text.strip()
    if not stripped:
        return {}
    try:
        value = json.loads(stripped)
    except ValueError:
        if not partial:
            raise
        value = _parse_json_prefix(stripped)
    if not isinstance(value, dict):
        raise ValueError(f"tool arguments are a JSON {type(value).__name__}, not an object")
    return value


def _parse_json_prefix(text: str) -> Any:
    """Parse the longest sensible completion of a truncated JSON document."""
    # Not llama-index-core's parse_partial_json: it turns a half-streamed string value into
    # null (`{"q": "hel` -> {"q": None}) and fails on a bare key (`{"city"`), which breaks
    # structured streaming (test_every_prefix_of_tool_arguments_parses_partially,
    # test_tool_selections_partial_and_strict).
    closers: list[str] = []
    cuts: list[tuple[int, tuple[str, ...]]] = []
    in_string = escaped = False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
            cuts.append((i + 1, tuple(closers)))
        elif char in "}]":
            if not closers or closers[-1] != char:
                raise ValueError("malformed JSON")
            closers.pop()
            cuts.append((i + 1, tuple(closers)))
        elif char == ",":
            cuts.append((i, tuple(closers)))
    head = text[:-1] if escaped else text
    attempts = [head + ('"' if in_string else "") + "".join(reversed(closers))]
    attempts += [text[:end] + "".join(reversed(stack)) for end, stack in reversed(cuts)]
    for attempt in attempts:
        try:
            return json.loads(attempt)
        except ValueError:
            continue
    raise ValueError("not a JSON prefix")
