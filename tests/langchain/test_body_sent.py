"""The body ChatModelsLab builds (and traces) is the body sent: the default max_tokens included."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator

KEY = "test-key-body-sent-5b2e"


def test_the_body_built_is_the_body_sent(emulator: Emulator) -> None:
    llm = ChatModelsLab(api_key=KEY, base_url=emulator.base_url)
    _, built = llm._payload([HumanMessage("Hi")], None, stream=True)
    list(llm.stream("Hi"))
    [request] = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    sent = {name: value for name, value in request.body.items() if name != "key"}
    assert sent == built and built["max_tokens"] > 1_000
