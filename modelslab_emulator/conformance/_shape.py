"""The shape of one response: what a client depends on, with the values left out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ._sse import SseText, parse_sse

_RETRY_HEADERS = ("retry-after", "retry-after-ms", "x-ratelimit-", "ratelimit-")
_TEXT_TYPES = ("text", "text_delta")
_ANTHROPIC_EVENTS = ("message_", "content_block_")
_DATA_LINE = re.compile(r"^(data|event):", re.MULTILINE)
_FILLER = re.compile(r"(?:[ \t]*(?::[^\r\n]*)?(?:\r\n|\r|\n))+")


@dataclass
class Shape:
    """Named features (compared by equality) and JSON fields (``path -> types``)."""

    features: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


def shape_of(
    status: int | None,
    headers: dict[str, str],
    body: str,
    *,
    failure: str | None = None,
    tags: frozenset[str] = frozenset(),
) -> Shape:
    """The shape of a response given as status, lower-cased headers and body text."""
    shape = Shape()
    f = shape.features
    f["HTTP status"] = "no response" if status is None else str(status)
    f["transport"] = f"failed ({failure})" if failure else "complete"
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    f["content type"] = media or "none"
    hints = sorted(h for h in headers if h.startswith(_RETRY_HEADERS))
    f["retry hint headers"] = ", ".join(hints) or "none"
    if "\ufffd" in body:
        f["body encoding"] = "not valid UTF-8 (or U+FFFD sent)"
    if media == "text/event-stream" or _DATA_LINE.search(body):
        f["body kind"] = "SSE"
        _stream_shape(parse_sse(body), shape, tags)
        return shape
    # keep-alive filler before a JSON body (comment lines, blank lines) is worth knowing about
    filler = _FILLER.match(body)
    lines = filler.group(0).splitlines() if filler else []
    kinds = {"comment lines" if line.startswith(":") else "blank lines" for line in lines}
    f["filler before the body"] = _describe(kinds)
    stripped = body[filler.end() if filler else 0 :].strip()
    if not stripped:
        f["body kind"] = "empty"
        return shape
    try:
        document = json.loads(stripped)
    except ValueError:
        f["body kind"] = "HTML" if stripped[:1] == "<" else "text (not JSON)"
        return shape
    f["body kind"] = "JSON"
    shape.fields = fields_of(document)
    f["error shape"] = error_shape(document)
    f["retry hint in body"] = body_retry_hint(document)
    message = _first_message(document)
    if message is not None:
        f["reasoning arrives"] = _describe(_reasoning_in(message, message.get("content")))
    elif document.get("type") == "message" if isinstance(document, dict) else False:
        f["reasoning arrives"] = _describe(_anthropic_reasoning(document.get("content")))
    if "json" in tags:
        f["answer is JSON"] = _json_verdict(None if message is None else message.get("content"))
    if "tools" in tags:
        f["finish_reason"] = _describe(_finish_reasons([document]))
    return shape


def fields_of(
    value: Any, path: str = "", into: dict[str, set[str]] | None = None
) -> dict[str, str]:
    """Every JSON path of ``value`` (lists as ``[]``) with the types seen there."""
    found: dict[str, set[str]] = {} if into is None else into
    _walk(value, path, found)
    return {p: "|".join(sorted(t)) for p, t in sorted(found.items())}


def _walk(value: Any, path: str, found: dict[str, set[str]]) -> None:
    kind = _type(value)
    found.setdefault(path or "(root)", set()).add(kind)
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", found)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def error_shape(document: Any) -> str:
    """Which error convention a JSON document follows, or ``none`` for a normal answer."""
    if not isinstance(document, dict):
        return "none"
    if document.get("type") == "error":
        return 'Anthropic {"type":"error","error":{...}}'
    if "error" in document and document["error"] is not None:
        inner = "{...}" if isinstance(document["error"], dict) else "string"
        return f'OpenAI {{"error":{inner}}}'
    if document.get("status") == "error":
        text = "messege" if "messege" in document else "message"
        return f'ModelsLab {{"status":"error","{text}":...}}'
    if document.get("object") == "error":
        return 'vLLM {"object":"error","message":...}'
    return "none"


def body_retry_hint(document: Any) -> str:
    """Where a JSON error body carries a retry hint, or ``none``."""
    if not isinstance(document, dict):
        return "none"
    hints = []
    if "retry_after" in document:
        hints.append("retry_after")
    error = document.get("error")
    if isinstance(error, dict):
        metadata = error.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("headers"), dict):
            hints.append("error.metadata.headers")
        if "retry_after" in error:
            hints.append("error.retry_after")
    return ", ".join(hints) or "none"


def _first_message(document: Any) -> dict[str, Any] | None:
    if not isinstance(document, dict) or not isinstance(document.get("choices"), list):
        return None
    for choice in document["choices"]:
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
            message: dict[str, Any] = choice["message"]
            return message
    return None


def _reasoning_in(part: dict[str, Any], content: Any) -> set[str]:
    """How reasoning shows in a message or a delta (``content`` given separately)."""
    ways = set()
    for name in ("reasoning_content", "reasoning"):
        if part.get(name):
            ways.add(f"{name} field")
    if part.get("reasoning_details"):
        ways.add("reasoning_details field")
    if isinstance(content, list):
        kinds = {b.get("type") for b in content if isinstance(b, dict)}
        if "thinking" in kinds:
            ways.add("thinking content blocks")
    text = _text(content)
    if "<think>" in text or "</think>" in text:
        ways.add("inline <think> tags")
    return ways


def _anthropic_reasoning(content: Any) -> set[str]:
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    ways = {"thinking blocks"} if any(b.get("type") == "thinking" for b in blocks) else set()
    if any("<think>" in str(b.get("text", "")) for b in blocks):
        ways.add("inline <think> tags")
    return ways


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = (b for b in content if isinstance(b, dict) and b.get("type") in _TEXT_TYPES)
        return "".join(str(b.get("text", "")) for b in texts)
    return ""


def _describe(ways: set[str]) -> str:
    return " + ".join(sorted(ways)) or "none"


def _json_verdict(content: Any) -> str:
    text = _text(content).strip()
    if not text:
        return "no answer text"
    try:
        value = json.loads(text)
    except ValueError:
        return "not JSON"
    return "a JSON object" if isinstance(value, dict) else "JSON, not an object"


def _finish_reasons(documents: list[Any]) -> set[str]:
    reasons = set()
    for document in documents:
        choices = document.get("choices") if isinstance(document, dict) else None
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                reasons.add(str(choice["finish_reason"]))
    return reasons


def _stream_shape(sse: SseText, shape: Shape, tags: frozenset[str]) -> None:
    f = shape.features
    f["SSE line endings"] = ", ".join(sorted(sse.line_endings)) or "none"
    f["SSE comment lines"] = "present" if sse.comments else "none"
    f["SSE data: spacing"] = ", ".join(sorted(sse.data_spacing)) or "no data lines"
    names = sorted({e.name for e in sse.events if e.name})
    f["SSE event: names"] = ", ".join(names) or "none"
    f["SSE [DONE]"] = "present" if any(e.data.strip() == "[DONE]" for e in sse.events) else "none"
    documents: list[Any] = []
    other = 0
    for event in sse.events:
        if event.data.strip() == "[DONE]":
            continue
        try:
            documents.append(json.loads(event.data))
        except ValueError:
            other += 1
    if other:
        f["SSE non-JSON data events"] = "present"
    found: dict[str, set[str]] = {}
    for document in documents:
        kind = document.get("type") if isinstance(document, dict) else None
        fields_of(document, f"{kind}/" if isinstance(kind, str) else "", found)
    shape.fields = {p: "|".join(sorted(t)) for p, t in sorted(found.items())}
    f["errors in stream"] = _describe({error_shape(d) for d in documents} - {"none"})
    typed = [d for d in documents if isinstance(d, dict) and isinstance(d.get("type"), str)]
    if any(str(d["type"]).startswith(_ANTHROPIC_EVENTS) for d in typed):
        f["usage arrives"] = _describe(
            {str(d["type"]) for d in typed if _has_usage(d) or _has_usage(d.get("message"))}
        )
        starts = [d.get("content_block") for d in typed if d["type"] == "content_block_start"]
        ways = _anthropic_reasoning(starts)
        deltas = [d.get("delta") for d in typed if d["type"] == "content_block_delta"]
        if "<think>" in _text(deltas) or "</think>" in _text(deltas):
            ways.add("inline <think> tags")
        f["reasoning arrives"] = _describe(ways)
        return
    f["usage arrives"] = _describe(_usage_places(documents))
    f["reasoning arrives"] = _describe(_stream_reasoning(documents))
    tools = _tool_fragments(documents)
    f.update(tools)
    if "json" in tags:
        f["answer is JSON"] = _json_verdict("".join(_contents(documents)))
    if "tools" in tags:
        f["finish_reason"] = _describe(_finish_reasons(documents))


def _has_usage(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("usage"), dict)


def _deltas(documents: list[Any]) -> list[dict[str, Any]]:
    deltas = []
    for document in documents:
        choices = document.get("choices") if isinstance(document, dict) else None
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                deltas.append(choice["delta"])
    return deltas


def _contents(documents: list[Any]) -> list[str]:
    return [_text(d.get("content")) for d in _deltas(documents)]


def _usage_places(documents: list[Any]) -> set[str]:
    places = set()
    for document in documents:
        if not _has_usage(document):
            continue
        choices = document.get("choices")
        if not choices:
            places.add("usage-only chunk (no choices)")
        elif _finish_reasons([document]):
            places.add("on the finish chunk")
        else:
            places.add("on a content chunk")
    return places


def _stream_reasoning(documents: list[Any]) -> set[str]:
    ways: set[str] = set()
    for delta in _deltas(documents):
        ways |= _reasoning_in(delta, None)
        if isinstance(delta.get("content"), list):
            ways |= _reasoning_in({}, delta["content"])
    text = "".join(_contents(documents))  # tags may be split across chunks
    if "<think>" in text or "</think>" in text:
        ways.add("inline <think> tags")
    return ways


def _tool_fragments(documents: list[Any]) -> dict[str, str]:
    """How streamed tool calls are cut into fragments."""
    fragments: list[dict[str, Any]] = []
    several = False
    for delta in _deltas(documents):
        calls = delta.get("tool_calls")
        if isinstance(calls, list) and calls:
            several = several or len(calls) > 1
            fragments.extend(c for c in calls if isinstance(c, dict))
    if not fragments:
        return {"tool-call fragments": "none"}
    ids = [c["id"] for c in fragments if c.get("id")]
    pieces: dict[Any, int] = {}
    for fragment in fragments:
        function = fragment.get("function")
        if isinstance(function, dict) and function.get("arguments"):
            slot = fragment.get("index", fragment.get("id"))
            pieces[slot] = pieces.get(slot, 0) + 1
    yes_no = {True: "yes", False: "no"}
    return {
        "tool-call fragments": "present",
        "tool calls: index on every fragment": yes_no[all("index" in c for c in fragments)],
        "tool calls: id repeated on later fragments": yes_no[len(ids) > len(set(ids))],
        "tool calls: several calls in one chunk": yes_no[several],
        "tool calls: arguments in several fragments": yes_no[any(n > 1 for n in pieces.values())],
    }
