"""One small runner per client: how to build it, stream, request and import it.

A runner imports its client lazily (in `setup`), so a missing peer only disables its own rows.
Every runner counts the chunks that carried text and their characters, so a run that got the
wrong answer is reported instead of timed. To add a client: subclass `Runner`, fill in what
it supports, and add it to `RUNNERS`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from ._floor_sse import adeltas, deltas
from ._runner import API_KEY, WIRE_MESSAGES, LangChainRunner, LlamaIndexRunner, Runner, Wire
from .floors import LangChainFloor, LangChainHttpFloor, LlamaIndexFloor, LlamaIndexHttpFloor
from .server import MODEL

__all__ = ["RUNNERS", "Runner"]


# -- the floor: raw httpx + json.loads ---------------------------------------------------------


class RawHttpx(Wire, Runner):
    key = "raw"
    label = "raw httpx + json.loads"
    group = "transport"
    kind = "floor"
    import_module = "httpx"

    def setup(self) -> None:
        self.open_wire()
        self.stream_body = self.body(WIRE_MESSAGES, stream=True)
        self.plain_body = self.body(WIRE_MESSAGES, stream=False)

    def iter_stream(self) -> Iterator[str]:
        with self.client.stream(
            "POST", self.url, content=self.stream_body, headers=self.headers
        ) as response:
            yield from deltas(response.iter_lines())

    async def aiter_stream(self) -> AsyncIterator[str]:
        async with self.async_client().stream(
            "POST", self.url, content=self.stream_body, headers=self.headers
        ) as response:
            async for text in adeltas(response.aiter_lines()):
                yield text

    def request_sync(self) -> int:
        response = self.client.post(self.url, content=self.plain_body, headers=self.headers)
        return len(json.loads(response.content)["choices"][0]["message"]["content"])

    async def request_async(self) -> int:
        response = await self.async_client().post(
            self.url, content=self.plain_body, headers=self.headers
        )
        return len(json.loads(response.content)["choices"][0]["message"]["content"])


# -- the transport and its peer, the openai SDK -----------------------------------------------


class Transport(Runner):
    key = "transport"
    label = "modelslab_transport"
    group = "transport"
    kind = "ours"
    import_module = "modelslab_transport"

    metrics = Runner.metrics | {"slot"}
    limiter_url: ClassVar[str | None] = None  # default settings: the machine-local limiter

    def setup(self) -> None:
        import modelslab_transport as mt

        self._mt = mt
        limit = None if self.unlimited else 5
        kw: dict[str, Any] = {"api_key": API_KEY, "base_url": self.base_url}
        if self.limiter_url is not None:
            kw["limiter_url"] = self.limiter_url
        self.client = mt.ModelsLabClient(max_concurrent_requests=limit, **kw)
        self.aclient = mt.AsyncModelsLabClient(max_concurrent_requests=limit, **kw)
        self.payload = mt.build_chat_payload(MODEL, WIRE_MESSAGES, max_tokens=self.n)

    def iter_stream(self) -> Iterator[str]:
        text_delta = self._mt.TextDelta
        for event in self.client.stream_chat(self.payload):
            if type(event) is text_delta:
                yield event.text

    async def aiter_stream(self) -> AsyncIterator[str]:
        text_delta = self._mt.TextDelta
        async for event in self.aclient.stream_chat(self.payload):
            if type(event) is text_delta:
                yield event.text

    def request_sync(self) -> int:
        return len(self.client.chat(self.payload).first.content)

    async def request_async(self) -> int:
        return len((await self.aclient.chat(self.payload)).first.content)

    async def aclose(self) -> None:
        await self.aclient.aclose()

    def close(self) -> None:
        self.client.close()

    def take_and_give_back(self) -> None:
        """Take and give back the in-flight slot a request holds (what `request_sync` pays)."""
        with self.client._hold():
            pass


class TransportInProcess(Transport):
    key = "transport_process"
    label = "modelslab_transport, limiter_url='process'"
    kind = "floor"
    metrics = frozenset({"request_sync", "slot"})
    limiter_url = "process"  # what every request paid before the machine-local default


class OpenAISDK(Runner):
    key = "openai"
    label = "openai SDK"
    group = "transport"
    kind = "peer"
    import_module = "openai"

    def setup(self) -> None:
        import openai

        self.client = openai.OpenAI(api_key=API_KEY, base_url=self.base_url)
        self.aclient = openai.AsyncOpenAI(api_key=API_KEY, base_url=self.base_url)

    def _args(self, stream: bool) -> dict[str, Any]:
        return {"model": MODEL, "messages": WIRE_MESSAGES, "stream": stream, "max_tokens": self.n}

    def iter_stream(self) -> Iterator[str]:
        for chunk in self.client.chat.completions.create(**self._args(True)):
            if chunk.choices and (text := chunk.choices[0].delta.content):
                yield text

    async def aiter_stream(self) -> AsyncIterator[str]:
        async for chunk in await self.aclient.chat.completions.create(**self._args(True)):
            if chunk.choices and (text := chunk.choices[0].delta.content):
                yield text

    def request_sync(self) -> int:
        answer = self.client.chat.completions.create(**self._args(False))
        return len(answer.choices[0].message.content or "")

    async def request_async(self) -> int:
        answer = await self.aclient.chat.completions.create(**self._args(False))
        return len(answer.choices[0].message.content or "")

    async def aclose(self) -> None:
        await self.aclient.close()

    def close(self) -> None:
        self.client.close()


# -- LangChain: ChatModelsLab and ChatOpenAI (its floors: floors.py) --------------------------


class ChatModelsLabRunner(LangChainRunner):
    key = "chat_modelslab"
    label = "ChatModelsLab"
    kind = "ours"
    import_module = "langchain_modelslab"

    def setup(self) -> None:
        from langchain_modelslab import ChatModelsLab

        self.messages = self._messages()
        self.llm = ChatModelsLab(
            model=MODEL,
            api_key=API_KEY,
            base_url=self.base_url,
            max_tokens=self.n,
            max_concurrent_requests=None if self.unlimited else 5,
        )


class ChatOpenAIRunner(LangChainRunner):
    key = "chat_openai"
    label = "ChatOpenAI"
    kind = "peer"
    import_module = "langchain_openai"

    def setup(self) -> None:
        from langchain_openai import ChatOpenAI

        self.messages = self._messages()
        self.llm = ChatOpenAI(
            model=MODEL, api_key=API_KEY, base_url=self.base_url, max_tokens=self.n
        )


# -- LlamaIndex: ModelsLabLLM and OpenAI (its floors: floors.py) --------------------------------


class ModelsLabLLMRunner(LlamaIndexRunner):
    key = "modelslab_llm"
    label = "ModelsLabLLM"
    kind = "ours"
    import_module = "llama_index_modelslab"

    def setup(self) -> None:
        from llama_index_modelslab import ModelsLabLLM

        self.messages = self._messages()
        self.llm = ModelsLabLLM(
            model=MODEL,
            api_key=API_KEY,
            base_url=self.base_url,
            max_tokens=self.n,
            max_concurrent_requests=None if self.unlimited else 5,
        )


class LlamaIndexOpenAIRunner(LlamaIndexRunner):
    key = "li_openai"
    label = "llama-index OpenAI"
    kind = "peer"
    import_module = "llama_index.llms.openai"

    def setup(self) -> None:
        from llama_index.llms.openai import OpenAI

        self.messages = self._messages()
        # A real model name passes OpenAI's metadata lookup; the server ignores it.
        self.llm = OpenAI(
            model="gpt-4o-mini", api_key=API_KEY, api_base=self.base_url, max_tokens=self.n
        )


RUNNERS: dict[str, type[Runner]] = {
    runner.key: runner
    for runner in (
        RawHttpx,
        Transport,
        TransportInProcess,
        OpenAISDK,
        ChatModelsLabRunner,
        LangChainFloor,
        LangChainHttpFloor,
        ChatOpenAIRunner,
        ModelsLabLLMRunner,
        LlamaIndexFloor,
        LlamaIndexHttpFloor,
        LlamaIndexOpenAIRunner,
    )
}
