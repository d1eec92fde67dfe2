"""One HTTP/1.1 request and its response, handed to the ASGI app as its `receive` and `send`."""

from __future__ import annotations

import asyncio
import http
import logging
import re
from collections.abc import Callable, MutableMapping
from typing import Any, Final, Protocol

log = logging.getLogger("mcpctl.edge")

# Bytes a response header's name or value may not hold (a CR or LF would let a value split the head).
_BAD_NAME: Final = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')
_BAD_VALUE: Final = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
_CHUNKED_END: Final = b"0\r\n\r\n"
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY_STATUSES: Final = frozenset((204, 304))


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINE: Final = {status: _status_line(status) for status in range(100, 600)}


def whole_response(
    status_line: bytes,
    default_headers: list[tuple[bytes, bytes]],
    content_type: bytes,
    body: bytes,
    *,
    close: bool,
    with_body: bool = True,
) -> bytes:
    """A response of mcpctl's own making, head and body in one bytes object: its headers (the
    defaults, a media type, a length) need none of the checks an app's headers get."""
    parts = [status_line]
    for name, value in default_headers:
        parts += (name, b": ", value, b"\r\n")
    parts += (b"content-type: ", content_type, b"\r\ncontent-length: ", str(len(body)).encode(), b"\r\n")
    if close:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    if with_body:
        parts.append(body)
    return b"".join(parts)


class Connection(Protocol):
    """What a cycle needs of the connection it arrived on (`server.EdgeProtocol`)."""

    write_paused: bool

    def write(self, data: bytes) -> None: ...  # held to the end of the loop's turn
    def write_now(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def is_closing(self) -> bool: ...
    def resume_reading(self) -> None: ...
    async def drain(self) -> None: ...
    def response_done(self, cycle: Cycle) -> None: ...


class Cycle:
    """A request's body on its way in, and its response on its way out.

    The app sees ASGI: `receive` hands over the body (then `http.disconnect`), and `send` takes
    `http.response.start` and `http.response.body` messages. `take_whole` and `answer_whole` are
    the same done in one step, for a body that already arrived whole and an answer that is one
    bytes object with mcpctl's own two headers (most of the host's traffic): no message dicts, no
    coroutine, no checks of headers mcpctl wrote itself.
    """

    __slots__ = (
        "_waiters",
        "body",
        "chunked",
        "connection",
        "default_headers",
        "disconnected",
        "ended",
        "expected_length",
        "keep_alive",
        "more_body",
        "response_complete",
        "response_started",
        "scope",
        "task",
        "waiting_for_continue",
    )

    def __init__(
        self,
        connection: Connection,
        scope: MutableMapping[str, Any],
        default_headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        expect_continue: bool,
    ) -> None:
        self.connection = connection
        self.scope = scope
        self.default_headers = default_headers  # the Date header (uvicorn's server renews it each second)
        self.keep_alive = keep_alive
        self.waiting_for_continue = expect_continue
        self.disconnected = False
        self.body = bytearray()
        self.more_body = True  # the parser has not reached the end of the body yet
        self.ended = False  # the app has been handed the end of the body
        self.response_started = False
        self.response_complete = False
        self.chunked: bool | None = None
        self.expected_length = 0
        self._waiters: list[asyncio.Future[None]] | None = None  # receives waiting for something new
        self.task: asyncio.Task[None] | None = None  # the task that runs `run`, set as it is made

    # -- from the connection -------------------------------------------------------------------

    def wake(self) -> None:
        """Something the app may be waiting for happened: body, its end, or the client left."""
        waiters = self._waiters
        if waiters is not None:
            self._waiters = None
            for waiter in waiters:
                if not waiter.done():  # (a cancelled receive's)
                    waiter.set_result(None)

    async def run(self, app: Callable[..., Any], tasks: set[asyncio.Task[None]]) -> None:
        """Serve this request with `app`: a failure before the response began is a 500. Its task
        leaves `tasks` (what uvicorn's graceful drain waits for) as it ends: a done callback would
        cost every request one more turn's callback."""
        try:
            await app(self.scope, self.receive, self.send)
        except Exception:
            log.exception("unexpected error in the ASGI app")
            if not self.response_started:
                await self._send_500()
            else:
                self.connection.close()
        except BaseException:
            self.connection.close()  # cancelled (the graceful shutdown's grace ran out): a close says so
            raise
        else:
            if not self.response_started and not self.disconnected:
                log.error("the ASGI app returned without starting a response")
                await self._send_500()
            elif not self.response_complete and not self.disconnected:
                log.error("the ASGI app returned without completing its response")
                self.connection.close()
        finally:
            if self.task is not None:
                tasks.discard(self.task)

    # -- ASGI ----------------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        connection = self.connection
        if self.waiting_for_continue:
            self.waiting_for_continue = False
            if not connection.is_closing():
                connection.write_now(_CONTINUE)
        if not self.disconnected and not self.response_complete:
            connection.resume_reading()
            if not self.body and (self.more_body or self.ended):  # nothing new yet
                waiter = asyncio.get_running_loop().create_future()
                if self._waiters is None:
                    self._waiters = [waiter]
                else:  # a second task waits too (one watching for the client to leave)
                    self._waiters.append(waiter)
                await waiter
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        body = bytes(self.body)
        self.body = bytearray()
        self.ended = not self.more_body
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        connection = self.connection
        if connection.write_paused and not self.disconnected:
            await connection.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got {kind!r}")
            connection.write(self._head(message["status"], message.get("headers", ())))
        elif not self.response_complete:
            if kind != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got {kind!r}")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} after the response was complete")

    # -- in one step ---------------------------------------------------------------------------

    def take_whole(self) -> bytearray | None:
        """The whole body if it has all arrived and nothing of it was handed over yet, else None."""
        if self.more_body or self.ended or self.disconnected or self.response_complete:
            return None
        if self.waiting_for_continue:
            return None  # the client waits for a 100 Continue first: `receive` sends it
        self.connection.resume_reading()  # as receive does: reading paused while a big body piled up
        body = self.body
        self.body = bytearray()
        self.ended = True
        return body

    def answer_whole(self, status: int, content_type: bytes, body: bytes) -> bool:
        """Answer with `body` (a `content-type` and a `content-length`) in one write; False where
        ASGI must do it (the response began, or the socket's buffer is full)."""
        connection = self.connection
        if self.response_started or connection.write_paused:
            return False
        status_line = STATUS_LINE.get(status)
        if status_line is None:
            return False
        if self.disconnected:
            return True  # nobody to answer
        self.response_started = True
        self.waiting_for_continue = False
        connection.write_now(
            whole_response(
                status_line,
                self.default_headers,
                content_type,
                body,
                close=not self.keep_alive,
                with_body=self.scope["method"] != "HEAD",
            )
        )
        self._complete()
        return True

    # -- the response --------------------------------------------------------------------------

    def _head(self, status: int, headers: Any) -> bytes:
        self.response_started = True
        self.waiting_for_continue = False
        parts = [STATUS_LINE[status]]
        closes = False
        for given, value in (*self.default_headers, *headers):
            if _BAD_NAME.search(given):
                raise RuntimeError("Invalid HTTP header name")
            if _BAD_VALUE.search(value):
                raise RuntimeError("Invalid HTTP header value")
            name = given.lower()
            if name == b"content-length" and self.chunked is None:
                self.expected_length = int(value.decode())
                self.chunked = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_length = 0
                self.chunked = True
            elif name == b"connection" and b"close" in [t.strip() for t in value.lower().split(b",")]:
                self.keep_alive = False
                closes = True
            parts += (name, b": ", value, b"\r\n")
        if not self.keep_alive and not closes:
            parts.append(b"connection: close\r\n")
        if self.chunked is None and self.scope["method"] != "HEAD" and status not in _NO_BODY_STATUSES:
            self.chunked = True  # neither a length nor an encoding said: a stream (SSE)
            parts.append(b"transfer-encoding: chunked\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    def _body(self, body: bytes, more: bool) -> None:
        connection = self.connection
        if self.scope["method"] == "HEAD":
            self.expected_length = 0
        elif self.chunked:
            if body:
                connection.write(b"%x\r\n%b\r\n" % (len(body), body))
            if not more:
                connection.write(_CHUNKED_END)
        else:
            if len(body) > self.expected_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_length -= len(body)
            if body:
                connection.write(body)
        if not more:
            if self.expected_length:
                raise RuntimeError("Response content shorter than Content-Length")
            self._complete()

    def _complete(self) -> None:
        self.response_complete = True
        self.wake()  # a receive waiting for the client to leave learns that the response is done
        if not self.keep_alive:
            self.connection.close()
        self.connection.response_done(self)

    async def _send_500(self) -> None:
        body = b"Internal Server Error"
        await self.send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": body})
