"""Decoding a streamed answer from raw bytes, cut anywhere, and the any-JSON-value strategy:
shared by the transport's stream properties and the reliability fuzz tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import modelslab_transport as mt


def decode_bytes(pieces: list[bytes], secret: str | None = None) -> mt.ChatCompletion:
    """The completion the SSE and stream decoders make of `pieces`, fed in order."""
    sse, decoder = mt.SSEDecoder(), mt.StreamDecoder(secret=secret)
    events: list[mt.StreamEvent] = []
    for piece in pieces:
        for event in sse.feed(piece):
            events.extend(decoder.feed(event.data))
    for event in sse.close():
        events.extend(decoder.feed(event.data))
    events.extend(decoder.close())
    return mt.accumulate(events)


def split_bytes(raw: bytes, points: list[int]) -> list[bytes]:
    """`raw` cut at `points` (each taken modulo its length + 1), in order."""
    marks = sorted({p % (len(raw) + 1) for p in points})
    return [raw[a:b] for a, b in zip([0, *marks], [*marks, len(raw)], strict=True)]


def json_values(
    *,
    text_size: int,
    key_size: int,
    max_leaves: int,
    floats: bool = True,
    object_size: int | None = 3,
) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, lists of at most 3, objects (of at most `object_size` keys),
    nested up to `max_leaves`."""
    numbers = st.integers() | st.floats(allow_nan=False) if floats else st.integers()
    return st.recursive(
        st.none() | st.booleans() | numbers | st.text(max_size=text_size),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=key_size), inner, max_size=object_size)
        ),
        max_leaves=max_leaves,
    )
