"""`on_llm_end` sees the token usage where cost trackers read it: `llm_output["token_usage"]`
(ChatOpenAI's key and shape) for invoke and batch, and on the aggregated generation of a stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.outputs import LLMResult

from langchain_modelslab import ChatModelsLab
from modelslab_emulator import Emulator

KEY = "sk-lc-usage-cb-77aa"
MODEL = "mistralai-Magistral-Small-2506"


class Ends(BaseCallbackHandler):
    def __init__(self) -> None:
        self.results: list[LLMResult] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


def _usage(result: LLMResult) -> dict[str, Any]:
    message = result.generations[0][0].message  # type: ignore[attr-defined]
    return dict(message.usage_metadata)


def _check(token_usage: dict[str, Any], usage: dict[str, Any]) -> None:
    assert token_usage["prompt_tokens"] == usage["input_tokens"] > 0
    assert token_usage["completion_tokens"] == usage["output_tokens"] > 0
    assert token_usage["total_tokens"] == usage["total_tokens"]
    # Magistral reasons: the reasoning share is a detail, as OpenAI reports it.
    reasoning = token_usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning == usage["output_token_details"]["reasoning"] > 0


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_invoke_llm_output_has_token_usage(mode: str, emulator: Emulator) -> None:
    ends = Ends()
    llm = ChatModelsLab(model=MODEL, api_key=KEY, base_url=emulator.base_url)
    config: Any = {"callbacks": [ends]}
    if mode == "invoke":
        llm.invoke("one two three", config=config)
    else:
        asyncio.run(llm.ainvoke("one two three", config=config))
    (result,) = ends.results
    assert result.llm_output is not None and result.llm_output["model_name"] == MODEL
    _check(result.llm_output["token_usage"], _usage(result))


@pytest.mark.parametrize("mode", ["batch", "abatch"])
def test_batch_each_run_has_its_token_usage(mode: str, emulator: Emulator) -> None:
    ends = Ends()
    llm = ChatModelsLab(model=MODEL, api_key=KEY, base_url=emulator.base_url)
    prompts = ["one", "one two three four five six seven"]
    config: Any = {"callbacks": [ends]}
    if mode == "batch":
        llm.batch(prompts, config=config)
    else:
        asyncio.run(llm.abatch(prompts, config=config))
    assert len(ends.results) == 2
    prompt_sizes = set()
    for result in ends.results:
        assert result.llm_output is not None
        _check(result.llm_output["token_usage"], _usage(result))
        prompt_sizes.add(result.llm_output["token_usage"]["prompt_tokens"])
    assert len(prompt_sizes) == 2  # each run its own counts, not a shared total


def test_generate_over_prompts_sums_token_usage(emulator: Emulator) -> None:
    llm = ChatModelsLab(model=MODEL, api_key=KEY, base_url=emulator.base_url)
    result = llm.generate([[HumanMessage("one")], [HumanMessage("one two three")]])
    assert result.llm_output is not None
    per_run = [_usage(LLMResult(generations=[g])) for g in result.generations]
    total = result.llm_output["token_usage"]
    assert total["prompt_tokens"] == sum(u["input_tokens"] for u in per_run)
    assert total["total_tokens"] == sum(u["total_tokens"] for u in per_run)


@pytest.mark.parametrize("mode", ["stream", "astream", "streaming-invoke"])
def test_stream_aggregated_generation_has_token_usage(mode: str, emulator: Emulator) -> None:
    ends = Ends()
    llm = ChatModelsLab(
        model=MODEL, api_key=KEY, base_url=emulator.base_url, streaming=mode == "streaming-invoke"
    )
    config: Any = {"callbacks": [ends]}
    if mode == "stream":
        list(llm.stream("one two three", config=config))
    elif mode == "astream":

        async def go() -> None:
            async for _ in llm.astream("one two three", config=config):
                pass

        asyncio.run(go())
    else:
        llm.invoke("one two three", config=config)
    (result,) = ends.results
    message = result.generations[0][0].message  # type: ignore[attr-defined]
    _check(message.response_metadata["token_usage"], _usage(result))


def test_invoke_and_stream_agree_on_token_usage(emulator: Emulator) -> None:
    llm = ChatModelsLab(model=MODEL, api_key=KEY, base_url=emulator.base_url, temperature=0)
    invoked = llm.invoke("one two three")
    streamed = None
    for chunk in llm.stream("one two three"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None
    assert invoked.response_metadata["token_usage"] == streamed.response_metadata["token_usage"]
