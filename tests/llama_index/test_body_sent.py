"""The body ModelsLabLLM builds is the body sent: the default max_tokens included."""

from __future__ import annotations

from llama_index.core.llms import ChatMessage, MessageRole

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator

KEY = "test-key-body-sent-7c41"


def test_the_body_built_is_the_body_sent(emulator: Emulator) -> None:
    llm = ModelsLabLLM(api_key=KEY, base_url=emulator.base_url)
    messages = [ChatMessage(role=MessageRole.USER, content="Hi")]
    built = llm._payload(messages, stream=False)
    answer = llm.chat(messages)
    [request] = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    sent = {name: value for name, value in request.body.items() if name != "key"}
    assert sent == built and built["max_tokens"] > 1_000
    assert answer.additional_kwargs["max_tokens"] == built["max_tokens"]  # what is recorded
