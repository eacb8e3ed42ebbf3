"""The unvalidated builders make exactly what LlamaIndex's validated constructors make."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from llama_index.core.base.llms import types
from pydantic import BaseModel

from llama_index_modelslab import _responses as built

ChatMessage, ChatResponse, TextBlock = types.ChatMessage, types.ChatResponse, types.TextBlock


def _same(made: BaseModel, validated: BaseModel) -> None:
    assert type(made) is type(validated)
    assert made == validated
    assert made.model_fields_set == validated.model_fields_set
    assert list(made.__dict__) == list(validated.__dict__)  # field order: dumps and reprs
    assert made.model_dump() == validated.model_dump()
    assert made.model_dump_json() == validated.model_dump_json()
    assert repr(made) == repr(validated)
    assert pickle.loads(pickle.dumps(made)) == validated
    assert copy.deepcopy(made) == validated


def test_the_installed_models_are_the_ones_the_builders_were_checked_against() -> None:
    # A llama-index-core that adds a field or validator turns the builders back into validated
    # construction (correct, slower): this says so in CI instead of silently.
    assert built.BUILT_PLAIN


def _message(blocks: list[Any], extra: dict[str, Any]) -> types.ChatMessage:
    return ChatMessage(role=types.MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


@pytest.mark.parametrize("reasoning", ["", "thought"])
@pytest.mark.parametrize("extra", [{}, {"tool_calls": [{"id": "c1", "type": "function"}]}])
def test_built_messages_and_responses_equal_validated_ones(
    reasoning: str, extra: dict[str, Any]
) -> None:
    _same(built.text_block("Hi"), TextBlock(text="Hi"))
    _same(built.thinking_block("t", 3), types.ThinkingBlock(content="t", num_tokens=3))
    built_blocks: list[Any] = [built.text_block("Hi")]
    blocks: list[Any] = [TextBlock(text="Hi")]
    if reasoning:
        built_blocks.insert(0, built.thinking_block(reasoning, None))
        blocks.insert(0, types.ThinkingBlock(content=reasoning, num_tokens=None))
    message = _message(blocks, dict(extra))
    made = built.assistant_message(built_blocks, dict(extra))
    _same(made, message)
    raw = {"id": "gen-1", "object": "chat.completion.chunk"}
    _same(
        built.chat_response(made, "Hi", dict(raw), {"k": 1}),
        ChatResponse(message=message, delta="Hi", raw=dict(raw), additional_kwargs={"k": 1}),
    )
    if not reasoning and not extra:
        _same(
            built.text_chunk("Hi", "i", dict(raw)),
            ChatResponse(message=message, delta="i", raw=dict(raw), additional_kwargs={}),
        )
    # A whole answer gives no delta, as `ChatResponse(message=..., raw=...)` does.
    _same(
        built.chat_response(made, None, dict(raw), {}),
        ChatResponse(message=message, raw=dict(raw), additional_kwargs={}),
    )
    _same(
        built.completion_response("Hi", "Hi", dict(raw), {"k": 1}, None),
        types.CompletionResponse(
            text="Hi", delta="Hi", raw=dict(raw), additional_kwargs={"k": 1}, logprobs=None
        ),
    )


def test_built_objects_share_no_state_and_take_assignment() -> None:
    first, second = built.text_block("a"), built.text_block("b")
    first.text = "changed"
    assert second.text == "b"
    response = built.chat_response(built.assistant_message([first], {}), "a", {}, {})
    other = built.chat_response(built.assistant_message([second], {}), "b", {}, {})
    response.logprobs = []
    assert "logprobs" in response.model_fields_set
    assert "logprobs" not in other.model_fields_set
    response.message.blocks = [TextBlock(text="x")]
    assert response.message.content == "x"
    assert other.message.content == "b"


def test_a_message_with_legacy_images_is_validated() -> None:
    # The one key ChatMessage's validator acts on: the builder leaves it to validation.
    message = built.assistant_message([built.text_block("Hi")], {"images": []})
    assert message == _message([TextBlock(text="Hi")], {"images": []})


def test_a_constructor_with_logic_of_its_own_turns_the_builders_off() -> None:
    # A llama-index-core whose ChatMessage.__init__ changed what it builds (same fields and
    # validators): the samples built both ways at import differ, so validated construction is
    # used and what is built is what the constructor makes.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        from llama_index.core.base.llms import types
        original = types.ChatMessage.__init__
        def changed(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.additional_kwargs.setdefault("stamped", True)
        types.ChatMessage.__init__ = changed
        from llama_index_modelslab import _responses as built
        made = built.assistant_message([built.text_block("Hi")], {})
        print(built.BUILT_PLAIN, made.additional_kwargs)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split("\n")[0] == "False {'stamped': True}"
