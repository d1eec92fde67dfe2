"""Server-Sent Events: decoding per the WHATWG rules at any chunk boundary, and encode/decode round trips."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mcpctl.protocol.sse import KEEPALIVE, Event, SSEDecoder, encode_event


def decode(*chunks: str) -> list[Event]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_multi_line_data_joins_with_newlines() -> None:
    assert decode("data: YHOO\ndata: +2\ndata: 10\n\n") == [Event("YHOO\n+2\n10")]


def test_all_three_line_endings() -> None:
    for eol in ("\n", "\r", "\r\n"):
        events = decode(f"event: a{eol}data: 1{eol}data: 2{eol}{eol}data: 3{eol}{eol}")
        assert events == [Event("1\n2", "a"), Event("3")], repr(eol)


def test_comments_and_unknown_fields_are_ignored() -> None:
    text = ": keepalive\n:\nfoo: bar\ndata: x\n: between\n\n"
    assert decode(text) == [Event("x")]
    assert decode(KEEPALIVE.decode()) == []


def test_field_value_rules() -> None:
    # Only one leading space is removed; no colon means an empty value; "data" alone is an empty line.
    events = decode("data:  two spaces\n\ndata\n\ndata:no space\n\n")
    assert [e.data for e in events] == [" two spaces", "", "no space"]


def test_an_event_without_data_is_not_dispatched_and_its_type_resets() -> None:
    assert decode("event: ping\n\ndata: after\n\n") == [Event("after")]


def test_id_persists_and_is_the_last_event_id() -> None:
    decoder = SSEDecoder()
    events = decoder.feed("id: 7\ndata: a\n\ndata: b\n\nid: 8\n\nid\ndata: c\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "7"), ("b", "7"), ("c", "")]
    assert decoder.last_event_id == ""
    assert decoder.feed("id: bad\0id\ndata: d\n\n") == [Event("d", id="")]  # NUL: ignored


def test_last_event_id_moves_only_when_an_event_ends() -> None:
    """A stream cut mid-event must resume from before that event, or the event is lost."""
    decoder = SSEDecoder()
    decoder.feed("id: 1\ndata:\n\n")  # a priming event: an id and empty data
    assert decoder.last_event_id == "1"
    assert decoder.feed("id: 2\ndata: half of it") == []
    assert decoder.last_event_id == "1"
    assert decoder.feed("\n\n") == [Event("half of it", id="2")]
    assert decoder.last_event_id == "2"


def test_retry_takes_ascii_digits_only() -> None:
    assert decode("retry: 3000\ndata: a\n\n") == [Event("a", retry=3000)]
    for bad in ("retry: 3s", "retry: -1", "retry: ²", "retry: ١٢", "retry:"):
        assert decode(f"{bad}\ndata: a\n\n") == [Event("a")], bad


def test_a_leading_byte_order_mark_is_ignored() -> None:
    assert decode("\ufeffdata: first\n\n") == [Event("first")]
    assert decode("\ufeff", "data: first\n\n") == [Event("first")]


def test_an_event_ending_in_cr_is_dispatched_without_waiting_for_more() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("data: now\r\r") == [Event("now")]
    assert decoder.feed("\ndata: next\n\n") == [Event("next")]  # that LF was the end of an empty line


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    assert decode("data: a\r", "\n\r", "\n") == [Event("a")]
    assert decode("data: a\r", "\r\n") == [Event("a")]


def test_incomplete_event_waits_for_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("data: part") == []
    assert decoder.feed("ial\n") == []
    assert decoder.feed("\n") == [Event("partial")]


STREAM = (
    ': hello\r\nid: 1\r\nevent: message\r\ndata: {"a": 1}\r\n\r\n'
    "retry: 10\ndata: line1\ndata: line2\n\n"
    "id: 2\rdata: é ☃ 𝄞\r\r"
    "data\n\n"
)


@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_chunk_boundaries_anywhere(cuts: list[int]) -> None:
    points = sorted(cuts)
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert (
        decode(*chunks)
        == decode(STREAM)
        == [
            Event('{"a": 1}', "message", "1"),
            Event("line1\nline2", id="1", retry=10),
            Event("é ☃ 𝄞", id="2"),
            Event("", id="2"),
        ]
    )


def test_large_events_and_many_small_ones() -> None:
    payload = "x" * (8 * 1024 * 1024)
    decoder = SSEDecoder()
    chunk = 64 * 1024
    text = f"data: {payload}\n\n"
    events = [e for i in range(0, len(text), chunk) for e in decoder.feed(text[i : i + chunk])]
    assert len(events) == 1
    assert events[0].data == payload
    burst = "".join(f"id: {i}\ndata: {i}\n\n" for i in range(20_000))  # one big read of many events
    assert [e.data for e in decoder.feed(burst)] == [str(i) for i in range(20_000)]


@given(
    st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=30), st.integers()), max_size=5),
    st.one_of(st.none(), st.text("abcdefghijklmnopqrstuvwxyz/-", min_size=1, max_size=10)),
    st.one_of(st.none(), st.text("0123456789abcdef_-", min_size=1, max_size=12)),
)
def test_encode_decode_round_trip(
    message: dict[str, object], event: str | None, event_id: str | None
) -> None:
    data = json.dumps(message, ensure_ascii=False)  # one line, as the edge sends it
    decoded = decode(encode_event(data.encode(), event, event_id).decode())
    assert decoded == [Event(data, event or "message", event_id)]
    assert json.loads(decoded[0].data) == message


def test_encode_layout() -> None:
    assert encode_event(b"{}", "message", "s1-5") == b"id: s1-5\nevent: message\ndata: {}\n\n"
    assert encode_event(b"{}") == b"data: {}\n\n"
