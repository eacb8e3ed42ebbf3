"""LlamaIndex's message and response objects, built without re-validating what is built right.

A stream builds a text block, a message and a response per chunk; pydantic validation of
values that are already of the field types is most of what that costs (model_construct is
slower still). These make the very objects validation would make (same type, field values,
order and fields-set), and fall back to validated construction if the installed
llama-index-core's models grew anything they were not checked against, or if one object of each
kind, built both ways at import, differs (a constructor with logic of its own): `BUILT_PLAIN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)
from pydantic import BaseModel

__all__ = [
    "BUILT_PLAIN",
    "assistant_message",
    "chat_response",
    "completion_response",
    "text_block",
    "text_chunk",
    "thinking_block",
]

_new = object.__new__
_setattr = object.__setattr__
# BaseModel's own slots, set straight through their descriptors (a third cheaper than setattr).
_slots: Mapping[str, Any] = vars(BaseModel)
_set_fields_set = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__
_ASSISTANT = MessageRole.ASSISTANT


def _is_plain(model: type[BaseModel], fields: tuple[str, ...], validators: set[str]) -> bool:
    # Exactly these fields in this order, no private state, hooks or extras, and no validator
    # but the known ones (ChatMessage's acts only on additional_kwargs["images"]).
    decorators = model.__pydantic_decorators__
    return (
        tuple(model.model_fields) == fields
        and not model.__private_attributes__
        and model.__pydantic_post_init__ is None
        and model.model_config.get("extra") in (None, "ignore")
        and set(decorators.model_validators) == validators
        and not decorators.field_validators
        and not decorators.validators
        and not decorators.root_validators
    )


BUILT_PLAIN = (
    _is_plain(TextBlock, ("block_type", "text"), set())
    and _is_plain(
        ThinkingBlock, ("block_type", "content", "num_tokens", "additional_information"), set()
    )
    and _is_plain(
        ChatMessage, ("role", "additional_kwargs", "blocks"), {"legacy_additional_kwargs_image"}
    )
    and _is_plain(ChatResponse, ("message", "raw", "delta", "logprobs", "additional_kwargs"), set())
    and _is_plain(
        CompletionResponse, ("text", "additional_kwargs", "raw", "logprobs", "delta"), set()
    )
)


def _built(model: type[Any], values: dict[str, Any], given: frozenset[str]) -> Any:
    # What pydantic's model_construct sets: the values, the fields given, no extra or private.
    obj = _new(model)
    _setattr(obj, "__dict__", values)
    _set_fields_set(obj, set(given))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


_TEXT = frozenset({"text"})
_THINKING = frozenset({"content", "num_tokens"})
_MESSAGE = frozenset({"role", "additional_kwargs", "blocks"})
_CHAT = frozenset({"message", "delta", "raw", "additional_kwargs"})
_WHOLE = frozenset({"message", "raw", "additional_kwargs"})  # a whole answer: no delta given
_COMPLETION = frozenset({"text", "delta", "raw", "additional_kwargs", "logprobs"})


def text_block(text: str) -> TextBlock:
    """`TextBlock(text=text)`."""
    if not BUILT_PLAIN:
        return TextBlock(text=text)
    block: TextBlock = _built(TextBlock, {"block_type": "text", "text": text}, _TEXT)
    return block


def thinking_block(content: str, num_tokens: int | None) -> ThinkingBlock:
    """`ThinkingBlock(content=content, num_tokens=num_tokens)`."""
    if not BUILT_PLAIN:
        return ThinkingBlock(content=content, num_tokens=num_tokens)
    values: dict[str, Any] = {
        "block_type": "thinking",
        "content": content,
        "num_tokens": num_tokens,
        "additional_information": {},
    }
    block: ThinkingBlock = _built(ThinkingBlock, values, _THINKING)
    return block


def assistant_message(blocks: list[Any], additional_kwargs: dict[str, Any]) -> ChatMessage:
    """`ChatMessage(role=ASSISTANT, blocks=blocks, additional_kwargs=additional_kwargs)`: the
    blocks already built, the dict the message's own."""
    if not BUILT_PLAIN or "images" in additional_kwargs:  # the one key its validator acts on
        return ChatMessage(role=_ASSISTANT, blocks=blocks, additional_kwargs=additional_kwargs)
    values = {"role": _ASSISTANT, "additional_kwargs": additional_kwargs, "blocks": blocks}
    message: ChatMessage = _built(ChatMessage, values, _MESSAGE)
    return message


def chat_response(
    message: ChatMessage, delta: str | None, raw: Any, additional_kwargs: dict[str, Any]
) -> ChatResponse:
    """`ChatResponse(message=..., delta=..., raw=..., additional_kwargs=...)`; a None delta
    is not given (a whole answer's)."""
    if not BUILT_PLAIN:
        if delta is None:
            return ChatResponse(message=message, raw=raw, additional_kwargs=additional_kwargs)
        return ChatResponse(
            message=message, delta=delta, raw=raw, additional_kwargs=additional_kwargs
        )
    values = {
        "message": message,
        "raw": raw,
        "delta": delta,
        "logprobs": None,
        "additional_kwargs": additional_kwargs,
    }
    response: ChatResponse = _built(ChatResponse, values, _WHOLE if delta is None else _CHAT)
    return response


def completion_response(
    text: str, delta: str | None, raw: Any, additional_kwargs: dict[str, Any], logprobs: Any
) -> CompletionResponse:
    """`CompletionResponse(text=..., delta=..., raw=..., additional_kwargs=..., logprobs=...)`,
    `logprobs` as a ChatResponse holds them."""
    if not BUILT_PLAIN:
        return CompletionResponse(
            text=text, delta=delta, raw=raw, additional_kwargs=additional_kwargs, logprobs=logprobs
        )
    values = {
        "text": text,
        "additional_kwargs": additional_kwargs,
        "raw": raw,
        "logprobs": logprobs,
        "delta": delta,
    }
    response: CompletionResponse = _built(CompletionResponse, values, _COMPLETION)
    return response


def text_chunk(text: str, delta: str, raw: dict[str, Any]) -> ChatResponse:
    """`chat_response(assistant_message([text_block(text)], {}), delta, raw, {})` in one step:
    what most chunks of a stream are (the text so far, nothing else)."""
    if not BUILT_PLAIN:
        return chat_response(assistant_message([text_block(text)], {}), delta, raw, {})
    block = _new(TextBlock)
    _setattr(block, "__dict__", {"block_type": "text", "text": text})
    _set_fields_set(block, set(_TEXT))
    _set_extra(block, None)
    _set_private(block, None)
    message = _new(ChatMessage)
    _setattr(message, "__dict__", {"role": _ASSISTANT, "additional_kwargs": {}, "blocks": [block]})
    _set_fields_set(message, set(_MESSAGE))
    _set_extra(message, None)
    _set_private(message, None)
    response = _new(ChatResponse)
    values = {
        "message": message,
        "raw": raw,
        "delta": delta,
        "logprobs": None,
        "additional_kwargs": {},
    }
    _setattr(response, "__dict__", values)
    _set_fields_set(response, set(_CHAT))
    _set_extra(response, None)
    _set_private(response, None)
    return response


def _agrees(made: BaseModel, validated: BaseModel) -> bool:
    return (
        type(made) is type(validated)
        and made == validated
        and made.model_fields_set == validated.model_fields_set
        and list(made.__dict__) == list(validated.__dict__)
    )


def _samples_agree() -> bool:
    """One object of each kind built here and by llama-index-core's own constructors: equal,
    with the same fields given (~0.1 ms, once)."""
    raw = {"id": "gen-1"}
    text, thinking = TextBlock(text="Hi"), ThinkingBlock(content="t", num_tokens=2)
    blocks: list[Any] = [thinking, text]
    message = ChatMessage(role=_ASSISTANT, blocks=blocks, additional_kwargs={"k": 1})
    plain = ChatMessage(role=_ASSISTANT, blocks=[text], additional_kwargs={})
    made_message = assistant_message([thinking_block("t", 2), text_block("Hi")], {"k": 1})
    pairs = [
        (text_block("Hi"), text),
        (thinking_block("t", 2), thinking),
        (made_message, message),
        (
            chat_response(made_message, "Hi", raw, {"k": 1}),
            ChatResponse(message=message, delta="Hi", raw=raw, additional_kwargs={"k": 1}),
        ),
        (
            chat_response(made_message, None, raw, {}),
            ChatResponse(message=message, raw=raw, additional_kwargs={}),
        ),
        (
            text_chunk("Hi", "Hi", raw),
            ChatResponse(message=plain, delta="Hi", raw=raw, additional_kwargs={}),
        ),
        (
            completion_response("Hi", "Hi", raw, {}, None),
            CompletionResponse(text="Hi", delta="Hi", raw=raw, additional_kwargs={}, logprobs=None),
        ),
    ]
    return all(_agrees(made, validated) for made, validated in pairs)


BUILT_PLAIN = BUILT_PLAIN and _samples_agree()
