"""The frameworks' own floors, each with and without HTTP.

The fake-model floors yield pre-built chunks: what `BaseChatModel.stream` / LlamaIndex's
`stream_chat` cost by themselves. The HTTP floors are minimal models on httpx that read the SSE
exactly as the raw-httpx floor does (`_floor_sse`) and build only the framework's own chunk
objects: what any adapter of this API costs at least (issue 22's floor).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._floor_sse import asse_chunks, sse_chunks
from ._runner import LangChainRunner, LlamaIndexRunner, Wire
from .server import MODEL, TOKEN

__all__ = ["LangChainFloor", "LangChainHttpFloor", "LlamaIndexFloor", "LlamaIndexHttpFloor"]


class LangChainFloor(LangChainRunner):
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


class LangChainHttpFloor(Wire, LangChainRunner):
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


def _chat_only_llm() -> Any:
    """A CustomLLM with its completion half filled in: the floors are only chatted with."""
    from llama_index.core.base.llms.types import CompletionResponse, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback
    from llama_index.core.llms.custom import CustomLLM

    class ChatOnlyLLM(CustomLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(model_name=MODEL, is_chat_model=True)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            return CompletionResponse(text="unused")

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            yield CompletionResponse(text="unused", delta="unused")

    return ChatOnlyLLM


class LlamaIndexFloor(LlamaIndexRunner):
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
        )
        from llama_index.core.llms.callbacks import llm_chat_callback

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

        class FloorLLM(_chat_only_llm()):
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


class LlamaIndexHttpFloor(Wire, LlamaIndexRunner):
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
        )
        from llama_index.core.llms.callbacks import llm_chat_callback

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

        class HttpFloorLLM(_chat_only_llm()):
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
