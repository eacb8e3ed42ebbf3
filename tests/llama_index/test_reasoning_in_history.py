"""`reasoning_in_history`: earlier turns' thinking sent back inline only when asked, as
ChatModelsLab does (issue 13, item 12)."""

from __future__ import annotations

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ThinkingBlock

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support.models import MakeLLM

HISTORY = [
    ChatMessage(role=MessageRole.USER, content="Is 9 prime?"),
    ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[ThinkingBlock(content="9 = 3 * 3."), TextBlock(text="No.")],
    ),
    ChatMessage(role=MessageRole.USER, content="And 7?"),
]


def _assistant_sent(emulator: Emulator) -> list[object]:
    return [
        m["content"] for m in emulator.requests[-1].body["messages"] if m["role"] == "assistant"
    ]


def test_thinking_is_not_sent_back_by_default(llm: ModelsLabLLM, emulator: Emulator) -> None:
    assert llm.reasoning_in_history is False
    llm.chat(HISTORY)
    assert _assistant_sent(emulator) == ["No."]


async def test_reasoning_in_history_sends_it_inline(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make_llm(reasoning_in_history=True)
    await llm.achat(HISTORY)
    assert _assistant_sent(emulator) == ["<think>\n9 = 3 * 3.\n</think>\nNo."]
    assert HISTORY[1].blocks[0].content == "9 = 3 * 3."  # the history is left as it was


def test_a_real_turn_goes_back_with_its_thinking(make_llm: MakeLLM, emulator: Emulator) -> None:
    llm = make_llm()
    first = llm.chat(HISTORY[:1])
    thought = "".join(b.content or "" for b in first.message.blocks if isinstance(b, ThinkingBlock))
    assert thought  # Magistral thinks
    history = [HISTORY[0], first.message, HISTORY[2]]
    llm.reasoning_in_history = True  # read per request, like every field
    llm.chat(history)
    (sent,) = _assistant_sent(emulator)
    assert sent == f"<think>\n{thought}\n</think>\n{first.message.content}"
    llm.reasoning_in_history = False
    llm.chat(history)
    assert _assistant_sent(emulator) == [first.message.content]
