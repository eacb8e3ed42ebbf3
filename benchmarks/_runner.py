"""What every runner shares: the `Runner` interface, the floors' httpx wire, the framework bases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from .server import MODEL

__all__ = [
    "API_KEY",
    "PROMPT",
    "WIRE_MESSAGES",
    "LangChainRunner",
    "LlamaIndexRunner",
    "Runner",
    "Wire",
]

API_KEY = "bench-key"
PROMPT = "Say something."
WIRE_MESSAGES = [{"role": "user", "content": PROMPT}]


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


class Wire:
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

    async def aclose(self) -> None:
        if self.aclient is not None:
            await self.aclient.aclose()
            self.aclient = None

    def close(self) -> None:
        self.client.close()


class LangChainRunner(Runner):
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


class LlamaIndexRunner(Runner):
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
