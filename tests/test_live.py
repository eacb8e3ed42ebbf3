"""Against real ModelsLab: run only when MODELSLAB_API_KEY is set (skipped otherwise, as in CI).

These make three small, cheap requests to the real API with the flagship model.
"""

from __future__ import annotations

import pytest

from modelslab_transport import DEFAULT_MODEL, ModelsLabClient, accumulate, build_chat_payload

pytestmark = pytest.mark.live

PROMPT = [{"role": "user", "content": "Reply with the single word: pong"}]


def test_transport_streams_a_real_answer(real_api_key: str) -> None:
    with ModelsLabClient(api_key=real_api_key, base_url="https://modelslab.com/api/v7/llm") as c:
        result = accumulate(c.stream_chat(build_chat_payload(DEFAULT_MODEL, PROMPT, stream=True)))
    assert result.first.content.strip()
    assert "<think>" not in result.first.content
    assert result.first.finish_reason in ("stop", "length")


def test_chat_models_lab_answers(real_api_key: str) -> None:
    from langchain_modelslab import ChatModelsLab

    llm = ChatModelsLab(api_key=real_api_key, base_url="https://modelslab.com/api/v7/llm")
    message = llm.invoke("Reply with the single word: pong")
    assert isinstance(message.content, str) and message.content.strip()


def test_modelslab_llm_answers(real_api_key: str) -> None:
    from llama_index_modelslab import ModelsLabLLM

    llm = ModelsLabLLM(api_key=real_api_key, base_url="https://modelslab.com/api/v7/llm")
    assert llm.complete("Reply with the single word: pong").text.strip()
