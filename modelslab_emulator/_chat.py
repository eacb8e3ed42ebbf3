"""``/chat/completions`` replies: the OpenAI-style body and its streamed chunks."""

from __future__ import annotations

from typing import Any

from ._errors import error_body
from ._model import Completion
from ._scenarios import Scenarios
from ._sse import StreamEvent, StreamPlan
from ._text import stream_pieces, tokens
from ._tools import ToolCall
from ._validate import ChatRequest

ARGUMENT_PIECE = 8
PROVIDER = "Mistral"
PROVIDER_ERROR = "Provider returned error"
UPSTREAM_DISCONNECTED = "Provider disconnected unexpectedly"
ENGINE_FAILED = "The model failed while generating the answer."


class ChatReply:
    """Renders one completion as a chat body or a chunk stream, shaped by the scenarios."""

    def __init__(
        self, request: ChatRequest, completion: Completion, scenarios: Scenarios, rid: str, t: int
    ) -> None:
        self.request = request
        self.completion = completion
        self.scenarios = scenarios
        self.head: dict[str, Any] = {
            "id": rid,
            "object": "",
            "created": t,
            "model": request.model_id,
        }
        if scenarios.has("extra-fields"):
            self.head.update(provider=PROVIDER, system_fingerprint=None)
        self.field = (
            "reasoning_content"
            if scenarios.has("reasoning-field")
            else "reasoning"
            if scenarios.has("reasoning-openrouter")
            else None
        )
        # Mistral's own API: reasoning as {"type":"thinking","thinking":[{"type":"text",...}]}.
        self.blocks = scenarios.has("thinking-blocks")

    def usage(self) -> dict[str, Any]:
        """Token usage over all ``n`` choices."""
        c, n = self.completion, self.request.n
        usage: dict[str, Any] = {
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens * n,
            "total_tokens": c.prompt_tokens + c.completion_tokens * n,
        }
        if c.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": c.reasoning_tokens * n}
        return usage

    def _content(self, text: str) -> Any:
        return [{"type": "text", "text": text}] if self.scenarios.has("content-blocks") else text

    def _inline(self) -> str:
        """The content with the reasoning written inline, in the shape the scenarios ask for."""
        c = self.completion
        if c.answer is None or c.reasoning is None:
            return c.answer or ""
        if self.scenarios.has("unterminated-think"):
            # ModelsLab's enterprise sample: <think> opens and never closes, finish "stop".
            return f"<think>\n{c.reasoning}" + (f"\n\n{c.answer}" if c.reasoning_closed else "")
        if self.scenarios.has("close-only-think") or self.request.model.model.reasoning == (
            "template_opened"
        ):
            # A chat template opened <think> itself: the output carries only </think>.
            return f"{c.reasoning}\n</think>\n\n{c.answer}" if c.reasoning_closed else c.reasoning
        return c.inline_content() or ""

    def _thinking_blocks(self) -> list[dict[str, Any]]:
        c = self.completion
        blocks: list[dict[str, Any]] = []
        if c.reasoning is not None:
            blocks.append(_thinking(c.reasoning))
        if c.answer:
            blocks.append({"type": "text", "text": c.answer})
        return blocks

    def _finish(self, choice: dict[str, Any]) -> dict[str, Any]:
        finish = self.completion.finish_reason
        if self.scenarios.has("content-filter"):
            finish = "content_filter"
        if self.scenarios.has("finish-error"):
            finish = "error"  # a gateway's provider failure, with no error object
        choice["finish_reason"] = finish
        if self.scenarios.has("extra-fields"):
            choice.update(native_finish_reason=finish, logprobs=None)
        return choice

    def body(self) -> dict[str, Any]:
        """The non-streaming response body."""
        c = self.completion
        message: dict[str, Any] = {"role": "assistant"}
        if c.tool_calls:
            message["content"] = None
            message["tool_calls"] = [_call(call, None, full=True) for call in c.tool_calls]
        elif self.blocks:
            message["content"] = self._thinking_blocks()
        elif self.field is not None:
            message["content"] = self._content(c.answer or "")
            if c.reasoning is not None:
                message[self.field] = c.reasoning
        else:
            message["content"] = self._content(self._inline())
        choices = [
            self._finish({"index": i, "message": dict(message)}) for i in range(self.request.n)
        ]
        body = {**self.head, "object": "chat.completion", "choices": choices}
        if not self.scenarios.has("no-usage"):
            body["usage"] = self.usage()
        return body

    def success_body(self) -> dict[str, Any]:
        """The older v7 reply some callers read: ``{"status": "success", "message": text}``."""
        return {"status": "success", "message": self.completion.inline_content() or ""}

    def _endings(self) -> dict[str, StreamEvent]:
        code = int(self.scenarios.number("object-error-mid-stream", "code", 500))
        vllm_error = {
            "object": "error",
            "message": ENGINE_FAILED,
            "type": "BadRequestError" if 400 <= code < 500 else "InternalServerError",
            "param": None,
            "code": code,
        }
        # OpenRouter: a top-level error object AND finish_reason "error", then the stream ends.
        openrouter = self._chunk([{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}])
        openrouter.update(
            provider=PROVIDER, error={"code": "server_error", "message": UPSTREAM_DISCONNECTED}
        )
        return {
            "finish-error": StreamEvent(
                self._chunk([{"index": 0, "delta": {}, "finish_reason": "error"}])
            ),
            "object-error-mid-stream": StreamEvent(vllm_error),
            "openrouter-error-mid-stream": StreamEvent(openrouter),
        }

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {**self.head, "object": "chat.completion.chunk", "choices": choices}

    def _deltas(self) -> list[dict[str, Any]]:
        c = self.completion
        if c.tool_calls:
            return self._tool_deltas(c.tool_calls)
        pieces: list[tuple[str, str]]
        if self.blocks:
            pieces = [("thinking", p) for p in tokens(c.reasoning or "")]
            pieces += [("content", p) for p in tokens(c.answer or "")]
        elif self.field is None:
            text = self._inline()
            split = self.scenarios.has("think-split") and c.reasoning is not None
            pieces = [
                ("content", p) for p in (_think_split(text) if split else stream_pieces(text))
            ]
        else:
            pieces = [(self.field, p) for p in stream_pieces(c.reasoning or "")]
            pieces += [("content", p) for p in tokens(c.answer or "")]
        deltas = [_delta(key, self._content(p) if key == "content" else p) for key, p in pieces]
        deltas = deltas or [{"content": self._content("")}]
        deltas[0] = {"role": "assistant", **deltas[0]}
        return deltas

    def _tool_deltas(self, calls: list[ToolCall]) -> list[dict[str, Any]]:
        no_index = self.scenarios.has("no-tool-index")
        if self.scenarios.has("multi-tool-chunk"):
            fragments = [
                [_call(call, None if no_index else i, full=True) for i, call in enumerate(calls)]
            ]
        else:
            repeat = self.scenarios.has("repeat-tool-id")
            fragments = []
            for i, call in enumerate(calls):
                index = None if no_index else i
                fragments.append([_call(call, index, full=True, arguments="")])
                for start in range(0, len(call.arguments), ARGUMENT_PIECE):
                    piece = call.arguments[start : start + ARGUMENT_PIECE]
                    fragments.append([_call(call, index, full=repeat, arguments=piece)])
        deltas: list[dict[str, Any]] = [{"tool_calls": f} for f in fragments]
        deltas[0] = {"role": "assistant", "content": None, **deltas[0]}
        return deltas

    def stream(self) -> StreamPlan:
        """The fault-free chunk stream: content chunks, finish chunks, usage chunk."""
        deltas = self._deltas()
        body = [
            StreamEvent(self._chunk([{"index": i, "delta": d, "finish_reason": None}]))
            for i in range(self.request.n)
            for d in deltas
        ]
        tail = [
            self._chunk([self._finish({"index": i, "delta": {}})]) for i in range(self.request.n)
        ]
        if self.scenarios.has("no-usage"):
            pass
        elif self.scenarios.has("usage-on-last-chunk") or self.blocks:
            # Mistral's API sends usage on the finish chunk, asked or not.
            tail[-1]["usage"] = self.usage()
        elif self.request.include_usage:
            tail.append({**self._chunk([]), "usage": self.usage()})
        error = error_body(PROVIDER_ERROR, status=502, shape=self.scenarios.error_shape)
        if self.scenarios.error_shape == "modelslab":
            error = {"status": "error", "message": PROVIDER_ERROR}
        return StreamPlan(
            body,
            [StreamEvent(c) for c in tail],
            comment="OPENROUTER PROCESSING",
            error_event=StreamEvent(error),
            endings=self._endings(),
        )


def _thinking(text: str) -> dict[str, Any]:
    """A Mistral thinking block: the text sits in a nested list of text blocks."""
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


def _delta(key: str, value: Any) -> dict[str, Any]:
    if key == "thinking":
        return {"content": [_thinking(value)]}
    return {key: value}


def _call(
    call: ToolCall, index: int | None, *, full: bool, arguments: str | None = None
) -> dict[str, Any]:
    fragment: dict[str, Any] = {} if index is None else {"index": index}
    if full:
        fragment.update(id=call.id, type="function")
        fragment["function"] = {"name": call.name}
    else:
        fragment["function"] = {}
    fragment["function"]["arguments"] = call.arguments if arguments is None else arguments
    return fragment


def _think_split(text: str) -> list[str]:
    """Token pieces, but with the think tags cut at awkward places (``<`` ``th`` ``in`` ``k>…``)."""
    bounds, pos = set(), 0
    for piece in stream_pieces(text):
        bounds.add(pos)
        pos += len(piece)
    for tag in ("<think>", "</think>"):
        start = text.find(tag)
        if start < 0:
            continue
        end = start + len(tag)
        bounds = {b for b in bounds if not start <= b <= end + 1}
        bounds |= {start + 1, start + 3, end - 2}
    cuts = sorted(b for b in bounds | {0} if 0 <= b < len(text))
    return [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)], strict=True) if a < b]
