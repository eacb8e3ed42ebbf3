"""The vLLM host profile: Magistral served by vLLM with ``--tokenizer_mode mistral``.

ModelsLab files Magistral Small 2506 under its ``together_ai`` group, and Mistral's
recommended serving is vLLM in Mistral tokenizer mode. Such a host differs from the default
(OpenRouter-routed) profile in what it refuses before generating (mistral-common's validator
in vLLM's test mode, after vLLM keeps the last 9 characters of long tool-call ids), in how it
counts the prompt (tekken), in its context errors (old or new vLLM wording), in its stream
(``chatcmpl-`` ids, no comment lines) and in Magistral skipping ``<think>`` under a custom
system prompt. Every refusal is vLLM's HTTP 400 ``{"object":"error",...}`` (``new``: the
newer ``{"error":{...}}`` shape).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import _mistral_tokens
from ._catalog import ModelInfo
from ._errors import ApiError
from ._scenarios import Scenarios
from ._sse import StreamPlan
from ._text import content_text
from ._text import prompt_tokens as word_prompt_tokens

PROFILES = ("openrouter", "vllm")
DEFAULT_PROFILE = "openrouter"
CONTEXT_WORDINGS = ("old", "new")
#: vLLM's ``truncate_tool_call_ids`` keeps this many trailing characters of a longer id.
KEPT_ID_CHARS = 9
_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
#: Words of Mistral's reasoning system prompt (Magistral's model card) that make 2506 think.
REASONING_PROMPT_MARK = "first draft your thinking process"
#: mistral-common's allowed role transitions as deployed with 2506 (``user`` not after ``tool``).
_NEXT_ROLES = {
    "system": {"user", "assistant", "system"},
    "user": {"assistant", "system", "user"},
    "assistant": {"assistant", "user", "tool"},
    "tool": {"assistant", "tool"},
}


def profile_name(scenarios: Scenarios, default: str) -> str:
    """This request's profile: the ``profile;name=...`` scenario's, else the emulator's."""
    name = (
        scenarios.param("profile", "name", default).lower() if scenarios.has("profile") else default
    )
    if name not in PROFILES:
        raise ApiError(400, "Emulator scenario profile: name must be openrouter or vllm")
    return name


def host_for(scenarios: Scenarios, default: str) -> VllmHost | None:
    """The vLLM host serving this request, or None under the OpenRouter profile."""
    if profile_name(scenarios, default) != "vllm":
        return None
    wording = scenarios.param("profile", "context_error", "old").lower()
    if wording not in CONTEXT_WORDINGS:
        raise ApiError(400, "Emulator scenario profile: context_error must be old or new")
    return VllmHost(wording)


@dataclass(frozen=True)
class VllmHost:
    """One request's vLLM host: ``wording`` is ``old`` (``{"object":"error"}``, vLLM ≤ 0.10)
    or ``new`` (``{"error":{...}}`` and the newer context messages)."""

    wording: str = "old"

    def error(self, message: str, *, param: str | None = None) -> ApiError:
        """vLLM's 400 for a request refused before generation."""
        fields = {"message": message, "type": "BadRequestError", "param": param, "code": 400}
        body = {"error": fields} if self.wording == "new" else {"object": "error", **fields}
        return ApiError(400, message, body=body)

    def admit(self, model: ModelInfo, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The conversation as the model sees it (long tool-call ids cut to their last 9
        characters), or the validator's 400. Only Mistral-tokenizer models are validated."""
        if model.tokenizer != "mistral":
            return messages
        kept = truncate_tool_call_ids(messages)
        problem = conversation_problem(kept)
        if problem is not None:
            raise self.error(problem)
        return kept

    def prompt_tokens(
        self, model: ModelInfo, messages: list[dict[str, Any]], tools: Sequence[Any] | None
    ) -> int:
        """The prompt's size as this host counts it (tekken for Mistral-tokenizer models)."""
        if model.tokenizer != "mistral":
            return word_prompt_tokens(messages)
        return _mistral_tokens.prompt_tokens(messages, tools)

    def check_context(self, served: int, prompt: int, max_tokens: int) -> None:
        """vLLM's 400 when the prompt, or the prompt plus ``max_tokens``, exceeds ``served``."""
        if self.wording == "old":
            if prompt + max_tokens > served:
                raise self.error(
                    f"This model's maximum context length is {served} tokens. However, you "
                    f"requested {prompt + max_tokens} tokens ({prompt} in the messages, "
                    f"{max_tokens} in the completion). Please reduce the length of the "
                    "messages or completion."
                )
            return
        if prompt >= served:
            raise self.error(
                f"This model's maximum context length is {served} tokens. However, your request "
                f"has {prompt} input tokens. Please reduce the length of the input messages."
            )
        if prompt + max_tokens > served:
            raise self.error(
                f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This "
                f"model's maximum context length is {served} tokens and your request has "
                f"{prompt} input tokens ({max_tokens} > {served} - {prompt}). "
                f"(parameter=max_tokens, value={max_tokens})",
                param="max_tokens",
            )

    def model_for(self, model: ModelInfo, messages: list[dict[str, Any]]) -> ModelInfo:
        """Magistral 2506 reasons reliably only under its own system prompt: with a custom one
        it answers without ``<think>``."""
        if model.tokenizer != "mistral" or not model.thinks or reasons_under(messages):
            return model
        return replace(model, reasoning="none")

    @staticmethod
    def response_id() -> str:
        """vLLM's id: ``chatcmpl-`` and 32 hex digits."""
        return f"chatcmpl-{uuid.uuid4().hex}"

    @staticmethod
    def stream(plan: StreamPlan) -> StreamPlan:
        """vLLM writes no SSE comment lines."""
        return replace(plan, comment=None)


def reasons_under(messages: Sequence[dict[str, Any]]) -> bool:
    """Whether Magistral thinks: no system prompt, or one holding Mistral's reasoning prompt."""
    systems = [content_text(m.get("content")) for m in messages if m.get("role") == "system"]
    return not systems or any(REASONING_PROMPT_MARK in text.lower() for text in systems)


def truncate_tool_call_ids(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """vLLM's ``truncate_tool_call_ids``: ids longer than 9 keep their last 9 characters."""
    kept: list[dict[str, Any]] = []
    for message in messages:
        message = dict(message)
        calls = message.get("tool_calls")
        if message.get("role") == "assistant" and isinstance(calls, list):
            message["tool_calls"] = [_cut_call(call) for call in calls]
        call_id = message.get("tool_call_id")
        if message.get("role") == "tool" and isinstance(call_id, str):
            message["tool_call_id"] = call_id[-KEPT_ID_CHARS:]
        kept.append(message)
    return kept


def _cut_call(call: Any) -> Any:
    if isinstance(call, dict) and isinstance(call.get("id"), str):
        return {**call, "id": call["id"][-KEPT_ID_CHARS:]}
    return call


def conversation_problem(messages: Sequence[dict[str, Any]]) -> str | None:
    """mistral-common's first complaint about the conversation (structure, then each message),
    in its wording, or None when the conversation is valid."""
    return _structure_problem(messages) or _content_problem(messages)


def _structure_problem(messages: Sequence[dict[str, Any]]) -> str | None:
    roles = [str(m.get("role")) for m in messages]
    if len(roles) == 1 and roles[0] not in ("user", "system"):
        return "Conversation must start with a user message or system message"
    if len(roles) > 1 and roles[-1] == "assistant" and not messages[-1].get("prefix"):
        return (
            "Expected last role User or Tool (or Assistant with prefix True) for serving but "
            f"got {roles[-1]}"
        )
    for previous, current in itertools.pairwise(roles):
        if current not in _NEXT_ROLES.get(previous, set()):
            return f"Unexpected role '{current}' after role '{previous}'"
    return _pairing_problem(messages)


def _pairing_problem(messages: Sequence[dict[str, Any]]) -> str | None:
    """Tool calls and their results must pair up by id, once each (the first message is
    skipped, as mistral-common does)."""
    expected: set[str] = set()
    observed: set[str] = set()
    for message in messages[1:]:
        role = message.get("role")
        if role == "tool":
            call_id = str(message.get("tool_call_id"))
            if call_id in observed:
                return f"Duplicate tool call id {call_id} in tool results"
            if call_id not in expected:
                return f"Unexpected tool call id {call_id} in tool results"
            observed.add(call_id)
        elif role == "assistant":
            if len(expected) != len(observed):
                return "Not the same number of function calls and responses"
            expected.clear()
            observed.clear()
            for call in message.get("tool_calls") or []:
                call_id = str(call.get("id")) if isinstance(call, dict) else ""
                if call_id in expected:
                    return f"Duplicate tool call id {call_id} in assistant message"
                expected.add(call_id)
    return None


def _content_problem(messages: Sequence[dict[str, Any]]) -> str | None:
    last = len(messages) - 1
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant":
            calls = message.get("tool_calls")
            # what counts as none: null, "" or [] content, and null or [] tool calls
            if not message.get("content") and not calls:
                return "Assistant message must have either content or tool_calls, but not none."
            for call in calls or []:
                call_id = call.get("id") if isinstance(call, dict) else None
                if not isinstance(call_id, str) or not _ID.match(call_id):
                    return _bad_id(call_id)
            if message.get("prefix") and index != last:
                return "Assistant message with prefix True must be last message"
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id is None:
                return "Tool call id has to be defined."
            if not isinstance(call_id, str) or not _ID.match(call_id):
                return _bad_id(call_id)
    return None


def _bad_id(call_id: Any) -> str:
    return f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9."
