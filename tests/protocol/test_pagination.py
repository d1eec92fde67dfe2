"""Opaque cursors over the aggregated lists: every item once, foreign cursors refused."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcpctl.protocol.pagination import InvalidCursor, decode_cursor, encode_cursor, paginate


@given(st.lists(st.integers(), max_size=60), st.integers(1, 25))
def test_walking_the_pages_yields_every_item_once_in_order(items: list[int], page_size: int) -> None:
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = paginate("tools", items, cursor, page_size)
        seen += page
        pages += 1
        assert len(page) <= page_size
        if cursor is None:
            break
    assert seen == items
    assert pages == max(1, -(-len(items) // page_size))


def test_the_last_page_has_no_cursor_and_an_empty_list_is_one_page() -> None:
    assert paginate("tools", [1, 2], None, 2) == ([1, 2], None)
    assert paginate("tools", [], None, 5) == ([], None)


def test_a_cursor_past_a_shrunken_list_gives_an_empty_last_page() -> None:
    _, cursor = paginate("tools", list(range(10)), None, 5)
    assert paginate("tools", [1, 2], cursor, 5) == ([], None)


def test_cursors_are_bound_to_their_list() -> None:
    cursor = encode_cursor("tools", 5)
    assert decode_cursor("tools", cursor) == 5
    with pytest.raises(InvalidCursor, match="this list"):
        decode_cursor("prompts", cursor)


@pytest.mark.parametrize(
    "cursor",
    [
        5,
        ["x"],
        "",
        "!!!",
        "not base64 at all",
        base64.urlsafe_b64encode(b"tools:-1").decode(),
        base64.urlsafe_b64encode(b"tools:five").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"tools").decode(),
    ],
)
def test_foreign_cursors_are_refused(cursor: object) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor("tools", cursor)


def test_no_cursor_starts_at_the_beginning() -> None:
    assert decode_cursor("tools", None) == 0
