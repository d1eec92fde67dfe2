"""What the tests' own ASGI apps share: a request's whole body, read through `receive`."""

from __future__ import annotations

from typing import Any


async def read_body(receive: Any) -> bytes:
    """Every `http.request` message's body, joined, up to the one without `more_body`."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
