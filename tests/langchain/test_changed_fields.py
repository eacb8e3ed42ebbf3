"""ChatModelsLab: connection settings changed after construction are used by the next request
(issue 11). The checks live in tests/support/settings_changes.py, shared with ModelsLabLLM."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_modelslab import ChatModelsLab
from tests.support.settings_changes import ChangedFieldsChecks


class TestChangedFields(ChangedFieldsChecks):
    model_class = ChatModelsLab

    def ask(self, llm: Any, mode: str, text: str = "hi") -> str:
        if mode == "sync":
            return str(llm.invoke(text).text)
        return str(asyncio.run(llm.ainvoke(text)).text)
