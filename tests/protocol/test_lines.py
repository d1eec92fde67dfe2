"""Newline framing for stdio: any chunking, CRLF, huge lines, oversized lines skipped and reported."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mcpctl.protocol.lines import LineSplitter, Oversized

MiB = 1024 * 1024


def feed_all(splitter: LineSplitter, *chunks: bytes) -> list[bytes | Oversized]:
    return [line for chunk in chunks for line in splitter.feed(chunk)]


def test_complete_and_partial_lines() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert splitter.feed(b":2}") == []
    assert splitter.feed(b"\n") == [b'{"b":2}']


def test_crlf_and_empty_lines() -> None:
    # Empty lines come back as b"" (the reader skips them); a lone CR inside a line is data.
    assert feed_all(LineSplitter(), b"one\r\n\ntwo\r", b"\nthree\rx\n\r\n") == [
        b"one",
        b"",
        b"two",
        b"three\rx",
        b"",
    ]


@given(st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\n", b"")), max_size=20), st.data())
def test_any_chunking_gives_the_same_lines(lines: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    expected = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    assert feed_all(LineSplitter(), *chunks) == expected


def test_a_40_mib_line_arrives_whole() -> None:
    line = b'{"jsonrpc":"2.0","id":1,"result":{"blob":"' + b"x" * (40 * MiB) + b'"}}'
    splitter = LineSplitter(max_line=64 * MiB)
    chunks = [line[i : i + MiB] for i in range(0, len(line), MiB)]
    out = feed_all(splitter, *chunks, b"\nnext\n")
    assert len(out) == 2
    assert out[1] == b"next"
    assert out[0] == line


def test_an_oversized_line_is_skipped_and_reported_and_later_lines_still_arrive() -> None:
    splitter = LineSplitter(max_line=1000)
    head = b'{"jsonrpc":"2.0","id":42,"result":{"text":"'
    big = head + b"y" * 5000 + b'"}}'
    out = feed_all(splitter, b"before\n", big[:700], big[700:3000], big[3000:] + b"\nafter\n", b"last\n")
    assert out[0] == b"before"
    assert out[2:] == [b"after", b"last"]
    skipped = out[1]
    assert isinstance(skipped, Oversized)
    assert skipped.size == len(big)
    assert skipped.head.startswith(head)  # enough of the start to find the response's id


def test_an_oversized_line_inside_one_chunk() -> None:
    out = LineSplitter(max_line=10).feed(b"short\n" + b"z" * 11 + b"\nok\n")
    assert out[0] == b"short"
    assert out[2] == b"ok"
    assert isinstance(out[1], Oversized)
    assert out[1].size == 11


def test_a_line_exactly_at_the_limit_is_kept() -> None:
    assert LineSplitter(max_line=10).feed(b"0123456789\n") == [b"0123456789"]
    assert LineSplitter(max_line=10).feed(b"01234567890\n") != [b"01234567890"]


def test_two_oversized_lines_in_a_row() -> None:
    splitter = LineSplitter(max_line=4)
    out = feed_all(splitter, b"aaaaaa", b"aa\nbbbbbbb", b"\nc\n")
    assert [o.size if isinstance(o, Oversized) else o for o in out] == [8, 7, b"c"]
