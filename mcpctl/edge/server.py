"""The HTTP server's protocol limits: header size and count, and deadlines for headers and bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import dumps, error


@dataclass(frozen=True)
class ProtocolLimits:
    """What one client connection may cost before the ASGI app sees its request."""

    max_header_bytes: int = 64 * 1024  # request line and headers together
    max_headers: int = 100
    header_timeout: float = 10.0  # connection start (or a request's first byte) to the end of its headers
    body_timeout: float = 60.0  # from the end of the headers to the end of the body


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; `LimitedProtocol._refusal` says why."""


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits it lacks (it keeps its graceful drain).

    httptools accumulates a header being received in memory without bound, and uvicorn gives a
    request that never finishes no deadline: eight clients sending 50 MiB headers held 430 MB,
    and slowloris sockets stayed open for over ten minutes. Here:

    - the request line and headers may take `max_header_bytes` and `max_headers` (431 and close);
    - they must arrive within `header_timeout` of the connection opening (or, on a kept-alive
      connection, of the request's first byte), and the body within `body_timeout` of the
      headers (408 and close; a connection that never sent a byte is closed without an answer).

    The costs on the hot path are an addition per read while headers arrive, one per header, and
    a timer armed and cancelled per request.
    """

    limits: ClassVar[ProtocolLimits] = ProtocolLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # headers of the current (or next) request are still arriving
        self._head_read = 0  # bytes read while in the head: bounds what httptools accumulates
        self._head_size = 0  # exact size of the request line and headers parsed so far
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._seen_bytes = False

    # -- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        self._seen_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            refusal = self._refusal
            if refusal is not None:
                self._refuse(*refusal)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head:
            self._head_read += len(data)
            if self._head_read > self.limits.max_header_bytes:
                self._refuse(431, self._too_large())

    # -- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_read = self._head_size = self._header_count = 0
        if self._deadline is None:  # the first request's deadline runs from the connection's start
            self._arm(self.limits.header_timeout, self._head_expired)

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > self.limits.max_header_bytes:
            self._stop(431, self._too_large())
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        self._header_count += 1
        if self._head_size > self.limits.max_header_bytes:
            self._stop(431, self._too_large())
        if self._header_count > self.limits.max_headers:
            self._stop(
                431,
                f"Request header fields too large: more than {self.limits.max_headers} header fields "
                "(gateway.max_headers)",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()
        if not self.pipeline:  # a queued request's body is read only once its turn comes
            self._arm(self.limits.body_timeout, self._body_expired)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # -- limits --------------------------------------------------------------------------------

    def _too_large(self) -> str:
        return (
            f"Request header fields too large: more than {self.limits.max_header_bytes} bytes "
            "(gateway.max_header_bytes)"
        )

    def _stop(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        raise _Refused(message)

    def _arm(self, seconds: float, expired: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_expired(self) -> None:
        self._deadline = None
        if not self._seen_bytes:  # an idle connection (a browser's preconnect): nothing to answer
            self.transport.close()
            return
        self._refuse(
            408,
            f"Request timeout: the headers did not arrive within {self.limits.header_timeout:g}s "
            "(gateway.header_timeout)",
        )

    def _body_expired(self) -> None:
        self._deadline = None
        self._refuse(
            408,
            f"Request timeout: the body did not arrive within {self.limits.body_timeout:g}s "
            "(gateway.body_timeout)",
        )

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with a JSON-RPC error (unless a response is under way) and close."""
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answering = cycle is None or cycle.response_complete or not cycle.response_started
        if cycle is not None and not cycle.response_complete:
            # the app is waiting for the rest of the body: it sees the client go
            cycle.disconnected = True
            cycle.message_event.set()
        if answering:
            body = dumps(error(None, codes.INVALID_REQUEST, message))
            self.transport.write(
                b"".join(
                    (
                        STATUS_LINE[status],
                        b"content-type: application/json\r\ncontent-length: ",
                        str(len(body)).encode(),
                        b"\r\nconnection: close\r\n\r\n",
                        body,
                    )
                )
            )
        self.transport.close()


def limited_protocol(limits: ProtocolLimits) -> type[LimitedProtocol]:
    """The protocol class to hand uvicorn (`http=`), with these limits."""
    return type("LimitedProtocol", (LimitedProtocol,), {"limits": limits})
