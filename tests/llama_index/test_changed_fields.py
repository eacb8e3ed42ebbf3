"""ModelsLabLLM: connection settings changed after construction are used by the next request
(issue 11). The checks live in tests/support/settings_changes.py, shared with ChatModelsLab. Before
issue 11 a ModelsLabLLM froze its settings at construction and kept the old ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from tests.support.settings_changes import ChangedFieldsChecks


class TestChangedFields(ChangedFieldsChecks):
    model_class = ModelsLabLLM

    def ask(self, llm: Any, mode: str, text: str = "hi") -> str:
        messages = [ChatMessage(role=MessageRole.USER, content=text)]
        if mode == "sync":
            return str(llm.chat(messages).message.content or "")
        return str(asyncio.run(llm.achat(messages)).message.content or "")

    def test_a_bad_value_set_later_fails_typed_at_the_next_request(
        self, emulator: Emulator
    ) -> None:
        # LlamaIndex does not validate assignment: the settings check at the request catches it.
        llm = self.make(emulator)
        llm.max_retries = -1
        with pytest.raises(ValueError, match="max_retries"):
            self.ask(llm, "sync")
        assert emulator.requests == []
