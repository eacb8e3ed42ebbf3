"""Conversations a Mistral-family host accepts, shaped once for both adapters before sending.

vLLM (in `mistral` tokenizer mode) and Mistral's API validate every conversation with
mistral-common before generating, and answer HTTP 400 to shapes that ordinary agent and RAG
use produces. For the models the catalogue marks `conversation="mistral"` the messages are
rewritten so that nothing the user gave is lost:

- a `user` message right after a `tool` result ("Unexpected role 'user' after role 'tool'"):
  `BRIDGE_MESSAGE` is inserted between them, as pi-ai and the agents built on it do;
- an assistant message with neither content nor tool calls ("Assistant message must have either
  content or tool_calls, but not none."): dropped, since it holds nothing (the package itself
  leaves one when an answer was cut inside its reasoning and reasoning stays out of history);
- tool-call ids: mapped to 9 alphanumerics by `normalize_tool_call_id` (idempotent);
- a `system` message right after an assistant or tool message ("Unexpected role 'system' after
  role 'assistant'", a history-aware RAG prompt: history, then the retrieved context as a system
  message, then the question): moved, whole, to the end of the leading system messages;
- a conversation that ends on an assistant message ("Expected last role User or Tool (or
  Assistant with prefix True) for serving but got assistant"): refused here with
  `InvalidConversationError`, before any request, unless the caller marked it `prefix: true`.

Other models' messages are returned as they came (the same list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InvalidConversationError
from ._catalog import model_info
from ._tools import normalize_tool_call_id

__all__ = ["BRIDGE_MESSAGE", "BRIDGE_TEXT", "shape_conversation", "shape_mistral_conversation"]

#: The assistant turn put between a tool result and the next user message: neutral, true, and
#: the text pi-ai's `requiresAssistantAfterToolResult` (and the agents built on it) send.
BRIDGE_TEXT = "I have processed the tool results."
BRIDGE_MESSAGE: Mapping[str, Any] = {"role": "assistant", "content": BRIDGE_TEXT}
_LAST_ROLE_REFUSAL = (
    "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant"
)


def shape_conversation(
    model: str, messages: Sequence[Mapping[str, Any]]
) -> Sequence[Mapping[str, Any]]:
    """`messages` as `model`'s host accepts them: shaped for a Mistral-family model (see the
    module), else `messages` itself, untouched.

    >>> shape_conversation("some-new-model", [{"role": "assistant", "content": "x"}])
    [{'role': 'assistant', 'content': 'x'}]
    """
    info = model_info(model)
    if info is None or info.conversation != "mistral":
        return messages
    return shape_mistral_conversation(messages, model=model)


def shape_mistral_conversation(
    messages: Sequence[Mapping[str, Any]], *, model: str = "this model"
) -> Sequence[Mapping[str, Any]]:
    """The conversation rewritten for Mistral's tokenizer; `messages` itself when it already fits.

    Raises `InvalidConversationError` when it ends on an assistant message.

    >>> shaped = shape_mistral_conversation([
    ...     {"role": "user", "content": "Weather?"},
    ...     {"role": "assistant", "content": None,
    ...      "tool_calls": [{"id": "abc123XYZ", "function": {"name": "w", "arguments": "{}"}}]},
    ...     {"role": "tool", "tool_call_id": "abc123XYZ", "content": "sunny"},
    ...     {"role": "user", "content": "And tomorrow?"}])
    >>> [m["role"] for m in shaped], shaped[3]["content"]
    (['user', 'assistant', 'tool', 'assistant', 'user'], 'I have processed the tool results.')
    """
    shaped: list[Mapping[str, Any]] = []
    changed = False
    previous = None
    leading = 0  # the system messages before the first other one
    for message in messages:
        role = message.get("role")
        if role == "system":
            if previous in ("assistant", "tool"):
                shaped.insert(leading, message)  # system→system and system→user are accepted
                leading += 1
                changed = True
                continue
            if len(shaped) == leading:
                leading += 1
        elif role == "assistant":
            calls = message.get("tool_calls")
            if not calls and not _has_content(message.get("content")):
                changed = True  # holds nothing: mistral-common refuses it, nothing is lost
                continue
            if calls:
                fixed = _with_call_ids(message, calls)
                changed |= fixed is not message
                message = fixed
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if isinstance(call_id, str) and (wire := normalize_tool_call_id(call_id)) != call_id:
                message = {**message, "tool_call_id": wire}
                changed = True
        if previous == "tool" and role == "user":
            shaped.append(dict(BRIDGE_MESSAGE))
            changed = True
        shaped.append(message)
        previous = role
    if not shaped:
        raise InvalidConversationError(
            "The conversation holds only empty assistant messages: send at least one user message"
        )
    last = shaped[-1]
    if last.get("role") == "assistant" and last.get("prefix") is not True:
        raise InvalidConversationError(
            f"The conversation ends on an assistant message, which {model}'s host refuses before "
            f'generating (Mistral\'s tokenizer: "{_LAST_ROLE_REFUSAL}"). End it on a user '
            "message (or a tool result) that asks for what should come next, or leave the last "
            "assistant message out."
        )
    return shaped if changed else messages


def _has_content(content: object) -> bool:
    # mistral-common tests `bool(content)`: None, "" and [] are none; a list of parts counts
    # unless every part is an empty text part.
    if isinstance(content, list):
        return any(
            not (isinstance(part, Mapping) and part.get("type") == "text" and not part.get("text"))
            for part in content
        )
    return bool(content)


def _with_call_ids(message: Mapping[str, Any], calls: object) -> Mapping[str, Any]:
    if not isinstance(calls, list):
        return message
    fixed: list[Any] = []
    changed = False
    for call in calls:
        call_id = call.get("id") if isinstance(call, Mapping) else None
        if isinstance(call_id, str) and (wire := normalize_tool_call_id(call_id)) != call_id:
            call = {**call, "id": wire}
            changed = True
        fixed.append(call)
    return {**message, "tool_calls": fixed} if changed else message
