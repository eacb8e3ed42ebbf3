"""A fast loopback server speaking just enough OpenAI chat-completions for the benchmarks.

Raw asyncio streams, HTTP/1.1 keep-alive. `POST .../chat/completions`:

- with `"stream": true`: N pre-rendered SSE chunks written in one go, then a finish chunk, a
  usage chunk and `data: [DONE]`. N comes from the `X-Bench-Chunks` header, else from the
  body's `max_tokens` / `max_completion_tokens`, else 16. Each SSE event is its own HTTP chunk
  (`Transfer-Encoding: chunked`), as a server that flushes token by token sends it; the whole
  response is rendered once per N and cached, so serving it is a single `write`.
- otherwise: a small pre-rendered JSON completion.

Every content chunk carries `TOKEN` as its delta, so a client can check it got `N` chunks and
`N * len(TOKEN)` characters. Run it with `python -m benchmarks.server [--port P]`; it prints its
base URL on the first line of stdout and serves until killed. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys

__all__ = ["MODEL", "TOKEN", "main", "render_stream"]

TOKEN = " token"  # one streamed delta; the answer of an N-chunk stream is TOKEN * N
MODEL = "bench-model"
_ID = "chatcmpl-bench0001"
_CREATED = 1_700_000_000
_DEFAULT_CHUNKS = 16
_MAX_CHUNKS = 2_000_000

_N_RE = re.compile(rb'"max_(?:completion_)?tokens"\s*:\s*(\d+)')
_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')


def _sse(obj: object) -> bytes:
    data = b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {
        "id": _ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": MODEL,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
_FIRST = _sse(_chunk({"role": "assistant", "content": ""}))
_CONTENT = _sse(_chunk({"content": TOKEN}))


def _stream_tail(n: int) -> bytes:
    usage = {
        "id": _ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": MODEL,
        "choices": [],
        "usage": {"prompt_tokens": 8, "completion_tokens": n, "total_tokens": n + 8},
    }
    done = b"data: [DONE]\n\n"
    return (
        _sse(_chunk({}, "stop")) + _sse(usage) + b"%x\r\n%s\r\n" % (len(done), done) + b"0\r\n\r\n"
    )


def render_stream(n: int) -> bytes:
    """The whole HTTP response for an n-chunk stream."""
    return b"".join((_STREAM_HEAD, _FIRST, _CONTENT * n, _stream_tail(n)))


def _render_json() -> bytes:
    body = json.dumps(
        {
            "id": _ID,
            "object": "chat.completion",
            "created": _CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help?"},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 8, "completion_tokens": 7, "total_tokens": 15},
        },
        separators=(",", ":"),
    ).encode()
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(
        body
    )
    return head + body


_JSON_RESPONSE = _render_json()
_NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nnot found"
)
_cache: dict[int, bytes] = {}


def _stream_response(n: int) -> bytes:
    response = _cache.get(n)
    if response is None:
        if len(_cache) > 8:
            _cache.clear()
        response = _cache[n] = render_stream(n)
    return response


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            _method, path, _version = lines[0].split(b" ", 2)
            length, chunked, close, n_header = 0, False, False, None
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
                elif name == b"x-bench-chunks":
                    n_header = int(value)
            if chunked:
                body = await _read_chunked(reader)
            else:
                body = await reader.readexactly(length) if length else b""
            if not path.split(b"?", 1)[0].endswith(b"/chat/completions"):
                writer.write(_NOT_FOUND)
            elif _STREAM_RE.search(body):
                if n_header is None:
                    match = _N_RE.search(body)
                    n_header = int(match.group(1)) if match else _DEFAULT_CHUNKS
                writer.write(_stream_response(min(max(n_header, 1), _MAX_CHUNKS)))
            else:
                writer.write(_JSON_RESPONSE)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    """Serve until cancelled, printing the base URL once listening."""
    server = await asyncio.start_server(_handle, host, port, backlog=2048, limit=1 << 20)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"http://{host}:{bound}/v1\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
