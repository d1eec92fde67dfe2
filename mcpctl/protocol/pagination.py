"""Opaque cursors over the gateway's aggregated lists."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class InvalidCursor(ValueError):
    """A cursor we did not mint (or one from another list)."""


def encode_cursor(kind: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode()


def decode_cursor(kind: str, cursor: object) -> int:
    if cursor is None:
        return 0
    if not isinstance(cursor, str):
        raise InvalidCursor("cursor must be a string")
    try:
        found_kind, _, offset = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        value = int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("cursor was not issued by this server") from exc
    if found_kind != kind or value < 0:
        raise InvalidCursor("cursor was not issued for this list")
    return value


def paginate(kind: str, items: Sequence[T], cursor: object, page_size: int) -> tuple[list[T], str | None]:
    """One page of `items` from `cursor`, and the cursor of the next page (None at the end)."""
    start = decode_cursor(kind, cursor)
    end = start + page_size
    page = list(items[start:end])
    return page, (encode_cursor(kind, end) if end < len(items) else None)
