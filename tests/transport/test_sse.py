"""The SSE decoder: line ends, fields, comments, UTF-8 and splitting at any byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelslab_transport._sse import ServerSentEvent, SSEDecoder


def decode(*chunks: bytes) -> tuple[list[ServerSentEvent], int]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events, decoder.activity


def data_of(*chunks: bytes) -> list[str]:
    return [event.data for event in decode(*chunks)[0]]


def test_basic_events_and_done() -> None:
    stream = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    assert data_of(stream) == ['{"a":1}', '{"b":2}', "[DONE]"]


def test_event_is_dispatched_as_soon_as_its_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent(data="x")]
    assert decoder.close() == []


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(end: bytes) -> None:
    stream = b"event: delta" + end + b"data: one" + end + b"data: two" + end + end
    stream += b"data: [DONE]" + end + end
    events, _ = decode(stream)
    assert events == [
        ServerSentEvent(event="delta", data="one\ntwo"),
        ServerSentEvent(data="[DONE]"),
    ]


def test_crlf_split_across_reads_is_one_line_end() -> None:
    # If the LF were a second line end, it would be a blank line dispatching "a" alone.
    assert data_of(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == ["a\nb"]


def test_lone_cr_at_end_of_read_dispatches_immediately() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [ServerSentEvent(data="a")]
    assert decoder.feed(b"\ndata: b\n\n") == [ServerSentEvent(data="b")]


def test_data_with_and_without_space_and_without_colon() -> None:
    assert data_of(b"data:x\ndata: y\ndata:  z\ndata\n\n") == ["x\ny\n z\n"]


def test_comments_are_skipped_and_counted_as_activity() -> None:
    events, activity = decode(b": OPENROUTER PROCESSING\n\n:\n\ndata: a\n\n")
    assert [e.data for e in events] == ["a"]
    assert activity == 3  # two comments and one event


def test_activity_counts_keepalive_comments_before_any_event() -> None:
    decoder = SSEDecoder()
    decoder.feed(b": ping\n")
    assert decoder.activity == 1
    decoder.feed(b": ping\n")
    assert decoder.activity == 2


def test_event_id_retry_fields() -> None:
    events, _ = decode(b"event: error\nid: 7\nretry: 1500\ndata: {}\n\ndata: next\n\n")
    assert events[0] == ServerSentEvent(event="error", data="{}", id="7", retry=1500)
    # The last event id persists, retry does not (WHATWG rules).
    assert events[1] == ServerSentEvent(data="next", id="7", retry=None)


def test_bad_retry_nul_id_and_unknown_fields_are_ignored() -> None:
    events, _ = decode(b"retry: soon\nid: a\x00b\nfoo: bar\ndata: x\n\n")
    assert events == [ServerSentEvent(data="x")]


def test_empty_event_type_means_message() -> None:
    assert decode(b"event:\ndata: x\n\n")[0] == [ServerSentEvent(event="message", data="x")]


def test_close_dispatches_an_event_without_its_blank_line() -> None:
    assert data_of(b"data: a\n\ndata: [DONE]") == ["a", "[DONE]"]
    assert data_of(b"data: [DONE]\n") == ["[DONE]"]


def test_close_is_idempotent_and_empty_stream_gives_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.close() == []
    assert decoder.feed(b"") == []
    assert decoder.close() == []


def test_utf8_split_across_reads() -> None:
    raw = 'data: {"t":"héllo \u2013 世界 🎉"}\n\n'.encode()
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    assert data_of(*chunks) == ['{"t":"héllo \u2013 世界 🎉"}']


def test_unicode_line_separators_inside_data_do_not_split() -> None:
    text = 'data: {"t":"a\u2028b\u0085c\u2029d\x0be\x1cf"}\n\n'
    assert data_of(text.encode()) == ['{"t":"a\u2028b\u0085c\u2029d\x0be\x1cf"}']


def test_byte_order_mark_at_start_is_dropped() -> None:
    raw = "\ufeffdata: x\n\n".encode()
    assert data_of(raw[:1], raw[1:2], raw[2:]) == ["x"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert data_of(b"data: \xff\xfe ok\n\n") == ["\ufffd\ufffd ok"]


def test_event_without_data_is_dispatched_with_empty_data() -> None:
    assert decode(b"event: ping\n\n")[0] == [ServerSentEvent(event="ping", data="")]


def test_long_line_over_many_reads() -> None:
    payload = "x" * 100_000
    raw = f"data: {payload}\n\n".encode()
    assert data_of(*(raw[i : i + 7] for i in range(0, len(raw), 7))) == [payload]


# -- properties ---------------------------------------------------------------------------

_line = st.one_of(
    st.sampled_from(["data: [DONE]", ": comment", "event: x", "id: 1", "retry: 5", "data", ""]),
    st.text(alphabet="ab:é世\u2028\u0085 {}", max_size=12).map(lambda s: "data: " + s),
)
_end = st.sampled_from(["\n", "\r\n", "\r"])
_stream = st.lists(st.tuples(_line, _end), max_size=25).map(
    lambda parts: "".join(line + end for line, end in parts).encode()
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


@settings(deadline=None, max_examples=300)
@given(stream=_stream, cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_any_split_of_a_wellformed_stream_gives_the_same_events(
    stream: bytes, cuts: list[int]
) -> None:
    assert decode(*_split(stream, cuts)) == decode(stream)


@settings(deadline=None, max_examples=300)
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_arbitrary_bytes_never_raise_and_split_does_not_matter(
    data: bytes, cuts: list[int]
) -> None:
    events, activity = decode(data)
    assert all(isinstance(event, ServerSentEvent) for event in events)
    assert activity >= len(events)
    assert decode(*_split(data, cuts)) == (events, activity)


@settings(deadline=None, max_examples=200)
@given(values=st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_data_round_trips_any_text_without_line_breaks(values: list[str]) -> None:
    clean = [v.replace("\r", "").replace("\n", "") for v in values]
    raw = "".join(f"data: {v}\n\n" for v in clean).encode()
    # Events with empty data are still events (a `data:` field was present).
    assert data_of(raw) == clean
