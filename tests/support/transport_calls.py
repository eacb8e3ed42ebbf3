"""Transport calls against the emulator: a chat payload, one answer through any of the four
runners, a unique scenario header, and the chat requests a scenario made."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from modelslab_transport import (
    AsyncModelsLabClient,
    ChatCompletion,
    ModelsLabClient,
    StreamEvent,
    accumulate,
    build_chat_payload,
)
from tests.support.emulator_log import chat_log, settled
from tests.support.scenarios import scenario_header

__all__ = [
    "LLAMA",
    "MAGISTRAL",
    "answer_in_mode",
    "chat_requests",
    "completion_in_mode",
    "joined_text",
    "payload",
    "run_bounded",
    "scenario",
    "settled",
    "text_in_mode",
]

MAGISTRAL = "mistralai-Magistral-Small-2506"
LLAMA = "meta-llama-llama-3.1-8b-instruct"
_T = TypeVar("_T")


scenario = scenario_header  # the transport tests' name: a header dict, unique per call


def payload(text: str = "Hello there", model: str = LLAMA, **params: Any) -> dict[str, Any]:
    return build_chat_payload(model, [{"role": "user", "content": text}], **params)


def chat_requests(emulator: Any, headers: dict[str, str] | None = None) -> list[Any]:
    """Chat requests the emulator logged; with `headers`, only those of that scenario."""
    if headers is None:
        return chat_log(emulator)
    return chat_log(emulator, headers["X-Emulator-Scenario"])


def accumulated_content(events: list[StreamEvent]) -> str:
    """A stream's answer as the accumulator assembles it."""
    return accumulate(events).first.content


def joined_text(events: list[StreamEvent]) -> str:
    """Every piece of text a stream carried, in order."""
    return "".join(getattr(e, "text", "") for e in events)


def answer_in_mode(
    mode: str,
    body: dict[str, Any],
    read: Callable[[list[StreamEvent]], str] = accumulated_content,
    **client: Any,
) -> str:
    """One call through the sync or async client in `mode` (chat, stream, achat or astream),
    built with `client`; the answer text (a stream's events are read by `read`)."""
    return _in_mode(mode, body, lambda answer: answer.first.content, read, client)


def completion_in_mode(mode: str, body: dict[str, Any], **client: Any) -> ChatCompletion:
    """One call in `mode` by a client built with `client`: the whole answer (a stream's, as the
    accumulator assembles it)."""
    return _in_mode(mode, body, lambda answer: answer, accumulate, client)


def text_in_mode(mode: str, emulator: Any, text: str, **client: Any) -> str:
    """`text` asked of LLAMA on `emulator` in `mode`, by a client built with `client`: the
    answer text (of a stream, every piece of text it carried)."""
    body = payload(text, model=LLAMA)
    return answer_in_mode(mode, body, joined_text, base_url=emulator.base_url, **client)


def _in_mode(
    mode: str,
    body: dict[str, Any],
    whole: Callable[[ChatCompletion], _T],
    read: Callable[[list[StreamEvent]], _T],
    client: dict[str, Any],
) -> _T:
    """One call in `mode`: a plain answer is given to `whole`, a stream's events to `read`."""
    if mode in ("chat", "stream"):
        with ModelsLabClient(**client) as sync_client:
            if mode == "chat":
                return whole(sync_client.chat(body))
            return read(list(sync_client.stream_chat(body)))

    async def go() -> _T:
        async with AsyncModelsLabClient(**client) as async_client:
            if mode == "achat":
                return whole(await async_client.chat(body))
            return read([e async for e in async_client.stream_chat(body)])

    return asyncio.run(go())


def run_bounded(
    call: Callable[[], object], bound: float, stop: Callable[[], None]
) -> tuple[object, float]:
    """Run a blocking `call` in a thread for at most `bound` seconds: (its result or the
    exception it raised, seconds taken). A call still running then is a failure, not a hang:
    `stop()` (e.g. closing its client) makes it end, and the test fails."""
    import threading
    import time

    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound)
    elapsed = time.monotonic() - started
    if thread.is_alive():
        stop()
        thread.join(10)
        raise AssertionError(f"still running after {bound:.0f}s (stopped): a hang, not an answer")
    return outcome[0], elapsed
