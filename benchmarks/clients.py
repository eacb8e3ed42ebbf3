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

from ._floor_sse import adeltas, asse_chunks, deltas, sse_chunks
from .server import MODEL, TOKEN

__all__ = ["RUNNERS", "Runner"]

API_KEY = "bench-key"
PROMPT = "Say something."
_WIRE_MESSAGES = [{"role": "user", "content": PROMPT}]


class Runner:
    """A client under test. `n` is the number of chunks a stream should carry."""

    key: ClassVar[str]
    label: ClassVar[str]
    group: ClassVar[str]  # "transport", "langchain" or "llama-index"
    kind: ClassVar[str]  # "floor", "ours", "peer" or "framework floor"
    import_module: ClassVar[str]
    uses_server: ClassVar[bool] = True
    metrics: ClassVar[frozenset[str]] = frozenset(
        {"stream_sync", "stream_async", "request_sync", "concurrent", "memory", "import"}
    )

    def __init__(self, base_url: str, n: int, *, unlimited: bool = False) -> None:
        self.base_url = base_url
        self.n = n
        self.unlimited = unlimited  # max_concurrent_requests=None on our clients

    def setup(self) -> None:
        """Import and build the client (not timed)."""

    def before_run(self) -> None:
        """Reset per-run state (not timed)."""

    def iter_stream(self) -> Iterator[str]:
        """Stream one answer, yielding the text of each chunk that carried text."""
        raise NotImplementedError

    def aiter_stream(self) -> AsyncIterator[str]:
        """The async `iter_stream`."""
        raise NotImplementedError

    def request_sync(self) -> int:
        raise NotImplementedError

    async def request_async(self) -> int:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close async resources inside the loop that used them."""

    def close(self) -> None:
        """Close sync resources."""


# -- the floor: raw httpx + json.loads ---------------------------------------------------------


class _Wire:
    """One httpx client pair, the URL, headers and bodies: what every floor sends the same way."""

    n: int
    base_url: str

    def open_wire(self) -> None:
        import httpx

        self._httpx = httpx
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        self.client = httpx.Client(limits=limits, timeout=60)
        self.aclient: Any = None
        self.url = self.base_url + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    def body(self, messages: list[dict[str, Any]], *, stream: bool) -> bytes:
        payload: dict[str, Any] = {"model": MODEL, "messages": messages}
        if stream:
            payload.update(stream=True, max_tokens=self.n)
        return json.dumps(payload).encode()

    def async_client(self) -> Any:
        if self.aclient is None:
            limits = self._httpx.Limits(max_connections=1000, max_keepalive_connections=100)
            self.aclient = self._httpx.AsyncClient(limits=limits, timeout=60)
        return self.aclient

    async def close_async_wire(self) -> None:
        if self.aclient is not None:
            await self.aclient.aclose()
            self.aclient = None


class RawHttpx(_Wire, Runner):
    key = "raw"
    label = "raw httpx + json.loads"
    group = "transport"
    kind = "floor"
    import_module = "httpx"

    def setup(self) -> None:
        self.open_wire()
        self.stream_body = self.body(_WIRE_MESSAGES, stream=True)
        self.plain_body = self.body(_WIRE_MESSAGES, stream=False)

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

    async def aclose(self) -> None:
        await self.close_async_wire()

    def close(self) -> None:
        self.client.close()


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
        self.payload = mt.build_chat_payload(MODEL, _WIRE_MESSAGES, max_tokens=self.n)

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
        return {"model": MODEL, "messages": _WIRE_MESSAGES, "stream": stream, "max_tokens": self.n}

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


# -- LangChain: ChatModelsLab, ChatOpenAI, and the framework's own floor ------------------------


class _LangChain(Runner):
    group = "langchain"
    llm: Any

    def _messages(self) -> Any:
        from langchain_core.messages import HumanMessage

        return [HumanMessage(PROMPT)]

    def iter_stream(self) -> Iterator[str]:
        for chunk in self.llm.stream(self.messages):
            if chunk.content:
                yield chunk.content

    async def aiter_stream(self) -> AsyncIterator[str]:
        async for chunk in self.llm.astream(self.messages):
            if chunk.content:
                yield chunk.content

    def request_sync(self) -> int:
        return len(self.llm.invoke(self.messages).content)

    async def request_async(self) -> int:
        return len((await self.llm.ainvoke(self.messages)).content)


class ChatModelsLabRunner(_LangChain):
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


class ChatOpenAIRunner(_LangChain):
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


class LangChainFloor(_LangChain):
    """A BaseChatModel whose _stream yields pre-built chunks: what langchain-core itself costs."""

    key = "lc_floor"
    label = "langchain-core floor (fake model)"
    kind = "framework floor"
    import_module = "langchain_core.language_models.chat_models"
    uses_server = False
    metrics = frozenset({"stream_sync", "stream_async", "request_sync", "memory", "import"})
    build_per_chunk = False  # the memory run builds chunks as it goes: n pre-built won't fit

    def setup(self) -> None:
        from langchain_core.language_models.chat_models import BaseChatModel
        from langchain_core.messages import AIMessage, AIMessageChunk
        from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

        self.messages = self._messages()
        runner = self

        def chunks() -> Iterator[ChatGenerationChunk]:
            if runner.build_per_chunk:
                for _ in range(runner.n):
                    yield ChatGenerationChunk(message=AIMessageChunk(content=TOKEN))
            else:
                yield from runner.prebuilt
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    response_metadata={"finish_reason": "stop", "model_name": MODEL},
                    usage_metadata={
                        "input_tokens": 8,
                        "output_tokens": runner.n,
                        "total_tokens": runner.n + 8,
                    },
                    chunk_position="last",
                )
            )

        class FloorChatModel(BaseChatModel):
            @property
            def _llm_type(self) -> str:
                return "bench-floor"

            def _generate(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> ChatResult:
                message = AIMessage(
                    content="Hello! How can I help?",
                    response_metadata={"finish_reason": "stop", "model_name": MODEL},
                    usage_metadata={"input_tokens": 8, "output_tokens": 7, "total_tokens": 15},
                )
                return ChatResult(generations=[ChatGeneration(message=message)])

            def _stream(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> Any:
                yield from chunks()

            async def _astream(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> Any:
                for chunk in chunks():
                    yield chunk

        self._chunk_types = (ChatGenerationChunk, AIMessageChunk)
        self.prebuilt: list[Any] = []
        self.llm = FloorChatModel()

    def before_run(self) -> None:
        if self.build_per_chunk:
            return
        generation_chunk, message_chunk = self._chunk_types
        self.prebuilt = [
            generation_chunk(message=message_chunk(content=TOKEN)) for _ in range(self.n)
        ]


class LangChainHttpFloor(_Wire, _LangChain):
    """A minimal BaseChatModel on httpx: the same SSE read as raw httpx, LangChain's chunks only.

    What any LangChain adapter of this API costs at least: it posts, reads `data:` lines with
    `iter_lines` + `json.loads`, and builds one `ChatGenerationChunk(AIMessageChunk)` per text
    delta plus a last chunk with the finish reason and usage. No validation, no errors, no limits.
    """

    key = "lc_http_floor"
    label = "langchain-core HTTP floor (BaseChatModel + httpx)"
    kind = "framework floor"
    import_module = "langchain_core.language_models.chat_models"
    metrics = frozenset({"stream_sync", "stream_async", "request_sync", "concurrent"})

    def setup(self) -> None:
        from langchain_core.language_models.chat_models import BaseChatModel
        from langchain_core.messages import AIMessage, AIMessageChunk
        from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

        self.open_wire()
        self.messages = self._messages()
        wire = self
        roles = {"human": "user", "ai": "assistant", "system": "system"}

        def body(messages: Any, *, stream: bool) -> bytes:
            return wire.body(
                [{"role": roles[m.type], "content": m.content} for m in messages], stream=stream
            )

        def chunk_of(chunk: dict[str, Any]) -> ChatGenerationChunk | None:
            choices = chunk["choices"]
            if choices:
                if text := choices[0]["delta"].get("content"):
                    return ChatGenerationChunk(message=AIMessageChunk(content=text))
                if finish := choices[0].get("finish_reason"):
                    wire.finish = finish
            if usage := chunk.get("usage"):
                return ChatGenerationChunk(
                    message=AIMessageChunk(
                        content="",
                        response_metadata={"finish_reason": wire.finish, "model_name": MODEL},
                        usage_metadata={
                            "input_tokens": usage["prompt_tokens"],
                            "output_tokens": usage["completion_tokens"],
                            "total_tokens": usage["total_tokens"],
                        },
                        chunk_position="last",
                    )
                )
            return None

        def result_of(content: bytes) -> ChatResult:
            answer = json.loads(content)
            choice, usage = answer["choices"][0], answer["usage"]
            message = AIMessage(
                content=choice["message"]["content"] or "",
                response_metadata={"finish_reason": choice["finish_reason"], "model_name": MODEL},
                usage_metadata={
                    "input_tokens": usage["prompt_tokens"],
                    "output_tokens": usage["completion_tokens"],
                    "total_tokens": usage["total_tokens"],
                },
            )
            return ChatResult(generations=[ChatGeneration(message=message)])

        class HttpFloorChatModel(BaseChatModel):
            @property
            def _llm_type(self) -> str:
                return "bench-http-floor"

            def _generate(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> ChatResult:
                content = body(messages, stream=False)
                response = wire.client.post(wire.url, content=content, headers=wire.headers)
                return result_of(response.content)

            async def _agenerate(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> ChatResult:
                content = body(messages, stream=False)
                client = wire.async_client()
                response = await client.post(wire.url, content=content, headers=wire.headers)
                return result_of(response.content)

            def _stream(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> Iterator[ChatGenerationChunk]:
                content = body(messages, stream=True)
                with wire.client.stream(
                    "POST", wire.url, content=content, headers=wire.headers
                ) as response:
                    for chunk in sse_chunks(response.iter_lines()):
                        if (out := chunk_of(chunk)) is not None:
                            yield out

            async def _astream(
                self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
            ) -> AsyncIterator[ChatGenerationChunk]:
                content = body(messages, stream=True)
                async with wire.async_client().stream(
                    "POST", wire.url, content=content, headers=wire.headers
                ) as response:
                    async for chunk in asse_chunks(response.aiter_lines()):
                        if (out := chunk_of(chunk)) is not None:
                            yield out

        self.finish: str | None = None
        self.llm = HttpFloorChatModel()

    async def aclose(self) -> None:
        await self.close_async_wire()

    def close(self) -> None:
        self.client.close()


# -- LlamaIndex: ModelsLabLLM, OpenAI, and the framework's own floor ----------------------------


class _LlamaIndex(Runner):
    group = "llama-index"
    llm: Any

    def _messages(self) -> Any:
        from llama_index.core.base.llms.types import ChatMessage

        return [ChatMessage(role="user", content=PROMPT)]

    def iter_stream(self) -> Iterator[str]:
        for response in self.llm.stream_chat(self.messages):
            if response.delta:
                yield response.delta

    async def aiter_stream(self) -> AsyncIterator[str]:
        async for response in await self.llm.astream_chat(self.messages):
            if response.delta:
                yield response.delta

    def request_sync(self) -> int:
        return len(self.llm.chat(self.messages).message.content or "")

    async def request_async(self) -> int:
        return len((await self.llm.achat(self.messages)).message.content or "")


class ModelsLabLLMRunner(_LlamaIndex):
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


class LlamaIndexOpenAIRunner(_LlamaIndex):
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


class LlamaIndexFloor(_LlamaIndex):
    """A CustomLLM yielding pre-built ChatResponses: what llama-index-core itself costs."""

    key = "li_floor"
    label = "llama-index-core floor (CustomLLM)"
    kind = "framework floor"
    import_module = "llama_index.core.llms.custom"
    uses_server = False
    metrics = frozenset({"stream_sync", "stream_async", "request_sync", "memory", "import"})
    build_per_chunk = False

    def setup(self) -> None:
        from llama_index.core.base.llms.types import (
            ChatMessage,
            ChatResponse,
            CompletionResponse,
            LLMMetadata,
        )
        from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
        from llama_index.core.llms.custom import CustomLLM

        self.messages = self._messages()
        runner = self

        def responses() -> Iterator[ChatResponse]:
            if runner.build_per_chunk:
                text = ""
                for _ in range(runner.n):
                    text += TOKEN
                    message = ChatMessage(role="assistant", content=text)
                    yield ChatResponse(message=message, delta=TOKEN)
            else:
                yield from runner.prebuilt

        answer = ChatResponse(
            message=ChatMessage(role="assistant", content="Hello! How can I help?")
        )

        class FloorLLM(CustomLLM):
            @property
            def metadata(self) -> LLMMetadata:
                return LLMMetadata(model_name=MODEL, is_chat_model=True)

            @llm_completion_callback()
            def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
                return CompletionResponse(text="Hello! How can I help?")

            @llm_completion_callback()
            def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
                yield CompletionResponse(text="Hello! How can I help?", delta="Hello!")

            @llm_chat_callback()
            def chat(self, messages: Any, **kw: Any) -> Any:
                return answer

            @llm_chat_callback()
            def stream_chat(self, messages: Any, **kw: Any) -> Any:
                return responses()

            @llm_chat_callback()
            async def achat(self, messages: Any, **kw: Any) -> Any:
                return answer

            @llm_chat_callback()
            async def astream_chat(self, messages: Any, **kw: Any) -> Any:
                async def gen() -> Any:
                    for response in responses():
                        yield response

                return gen()

        self._types = (ChatMessage, ChatResponse)
        self.prebuilt: list[Any] = []
        self.llm = FloorLLM()

    def before_run(self) -> None:
        if self.build_per_chunk:
            return
        chat_message, chat_response = self._types
        self.prebuilt = [
            chat_response(
                message=chat_message(role="assistant", content=TOKEN * (i + 1)), delta=TOKEN
            )
            for i in range(self.n)
        ]


class LlamaIndexHttpFloor(_Wire, _LlamaIndex):
    """A minimal CustomLLM on httpx: the same SSE read as raw httpx, LlamaIndex's responses only.

    Posts, reads `data:` lines with `iter_lines` + `json.loads`, and builds one
    `ChatResponse(message, delta)` per text delta (the message holds the text so far, as
    LlamaIndex's streaming contract asks), inside LlamaIndex's `llm_chat_callback`.
    """

    key = "li_http_floor"
    label = "llama-index-core HTTP floor (CustomLLM + httpx)"
    kind = "framework floor"
    import_module = "llama_index.core.llms.custom"
    metrics = frozenset({"stream_sync", "stream_async", "request_sync", "concurrent"})

    def setup(self) -> None:
        from llama_index.core.base.llms.types import (
            ChatMessage,
            ChatResponse,
            CompletionResponse,
            LLMMetadata,
        )
        from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
        from llama_index.core.llms.custom import CustomLLM

        self.open_wire()
        self.messages = self._messages()
        wire = self

        def body(messages: Any, *, stream: bool) -> bytes:
            return wire.body(
                [{"role": m.role.value, "content": m.content} for m in messages], stream=stream
            )

        def response_of(text: str, delta: str, chunk: dict[str, Any]) -> ChatResponse:
            return ChatResponse(
                message=ChatMessage(role="assistant", content=text), delta=delta, raw=chunk
            )

        def answer_of(content: bytes) -> ChatResponse:
            answer = json.loads(content)
            message = answer["choices"][0]["message"]
            return ChatResponse(
                message=ChatMessage(role="assistant", content=message["content"]), raw=answer
            )

        class HttpFloorLLM(CustomLLM):
            @property
            def metadata(self) -> LLMMetadata:
                return LLMMetadata(model_name=MODEL, is_chat_model=True)

            @llm_completion_callback()
            def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
                return CompletionResponse(text="unused")

            @llm_completion_callback()
            def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
                yield CompletionResponse(text="unused", delta="unused")

            @llm_chat_callback()
            def chat(self, messages: Any, **kw: Any) -> Any:
                content = body(messages, stream=False)
                response = wire.client.post(wire.url, content=content, headers=wire.headers)
                return answer_of(response.content)

            @llm_chat_callback()
            def stream_chat(self, messages: Any, **kw: Any) -> Any:
                content = body(messages, stream=True)

                def gen() -> Iterator[ChatResponse]:
                    text = ""
                    with wire.client.stream(
                        "POST", wire.url, content=content, headers=wire.headers
                    ) as response:
                        for chunk in sse_chunks(response.iter_lines()):
                            choices = chunk["choices"]
                            if choices and (delta := choices[0]["delta"].get("content")):
                                text += delta
                                yield response_of(text, delta, chunk)

                return gen()

            @llm_chat_callback()
            async def achat(self, messages: Any, **kw: Any) -> Any:
                content = body(messages, stream=False)
                client = wire.async_client()
                response = await client.post(wire.url, content=content, headers=wire.headers)
                return answer_of(response.content)

            @llm_chat_callback()
            async def astream_chat(self, messages: Any, **kw: Any) -> Any:
                content = body(messages, stream=True)

                async def gen() -> AsyncIterator[ChatResponse]:
                    text = ""
                    async with wire.async_client().stream(
                        "POST", wire.url, content=content, headers=wire.headers
                    ) as response:
                        async for chunk in asse_chunks(response.aiter_lines()):
                            choices = chunk["choices"]
                            if choices and (delta := choices[0]["delta"].get("content")):
                                text += delta
                                yield response_of(text, delta, chunk)

                return gen()

        self.llm = HttpFloorLLM()

    async def aclose(self) -> None:
        await self.close_async_wire()

    def close(self) -> None:
        self.client.close()


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
