"""Minimal ASGI plumbing for the edge: requests, JSON and SSE responses, disconnect watching."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcpctl.edge.cycle import Cycle
from mcpctl.protocol.jsonrpc import Message, dumps
from mcpctl.protocol.sse import encode_event

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON = b"application/json"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    # reverse proxies (nginx) must not buffer the stream
    (b"x-accel-buffering", b"no"),
]


def direct(app: ASGIApp) -> ASGIApp:
    """`app` as the cheapest thing to call: an instance's bound `__call__` where its class defines
    one in Python. Calling the instance itself goes through CPython's `slot_tp_call`, which packs
    the arguments into a tuple first (about 1.7 k instructions for each layer, each request)."""
    for klass in type(app).__mro__:
        defined = klass.__dict__.get("__call__")
        if defined is not None:
            if isinstance(defined, types.FunctionType):  # (a function's own is a C slot wrapper)
                bound: ASGIApp = defined.__get__(app)
                return bound
            break
    return app


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


class ClientGone(Exception):
    """The client disconnected before we read its whole request."""


class Request:
    """What the edge needs from an ASGI HTTP scope, read once."""

    __slots__ = ("client", "headers", "method", "path", "query", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query: bytes = scope.get("query_string", b"")
        # Header names arrive lower-cased from ASGI servers; repeated headers keep the first.
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        self.headers = headers
        client = scope.get("client")
        self.client = f"{client[0]}:{client[1]}" if client else ""

    def accepts(self, media: str) -> bool:
        accept = self.headers.get("accept", "")
        return not accept or media in accept or "*/*" in accept

    def body_now(self, limit: int) -> bytes | None:
        """The body where it all arrived already (no await), else None: `body` reads it."""
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        whole = whole_body(self.receive)
        if whole is None:
            return None
        if len(whole) > limit:
            raise BodyTooLarge
        return bytes(whole)

    async def body(self, limit: int) -> bytes:
        whole = self.body_now(limit)
        if whole is not None:
            return whole
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    if headers is None and write_whole(send, status, content_type, body):
        return
    raw = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if headers:
        raw.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, msg: Message, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_bytes(send, status, dumps(msg), JSON, headers)


async def send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"0"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": b""})


class SSEWriter:
    """An open text/event-stream response."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def start(self, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        await self._send(
            {"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *(headers or [])]}
        )
        self.started = True

    async def event(self, msg: Message, event: str | None = None, event_id: str | None = None) -> None:
        await self.raw(encode_event(dumps(msg), event, event_id))

    async def raw(self, chunk: bytes) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end(self) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})


def write_whole(send: Send, status: int, content_type: bytes, body: bytes) -> bool:
    """Answer with `body` in one step where `send` is mcpctl's own protocol's (`Cycle.answer_whole`);
    False where ASGI must do it (a layer wrapped `send`, or the response began)."""
    cycle = getattr(send, "__self__", None)
    return type(cycle) is Cycle and cycle.answer_whole(status, content_type, body)


def whole_body(receive: Receive) -> bytearray | None:
    """The request's body where it all arrived and `receive` is mcpctl's protocol's
    (`Cycle.take_whole`); None where ASGI must hand it over."""
    cycle = getattr(receive, "__self__", None)
    return cycle.take_whole() if type(cycle) is Cycle else None


def watch_disconnect(receive: Receive, on_disconnect: Callable[[], None]) -> asyncio.Task[None]:
    """A task that calls `on_disconnect` when the client goes away; cancel it when done."""

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                on_disconnect()
                return

    return asyncio.get_running_loop().create_task(watch())
