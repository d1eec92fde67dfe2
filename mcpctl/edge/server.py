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

_HEAD, _BODY, _IDLE = 0, 1, 2  # which deadline a connection is under


@dataclass(frozen=True)
class ProtocolLimits:
    """What one client connection may cost before the ASGI app sees its request."""

    max_header_bytes: int = 64 * 1024  # request line and headers together
    max_headers: int = 100
    header_timeout: float = 10.0  # connection start (or a request's first byte) to the end of its headers
    body_timeout: float = 60.0  # from the end of the headers to the end of the body

    @property
    def tick(self) -> float:
        """How often deadlines are looked at: they fire up to this late."""
        return min(0.5, self.header_timeout / 4, self.body_timeout / 4)


class _State:
    """A connection's limit bookkeeping, in one slotted object: more attributes on the protocol
    itself would push its instances past CPython's shared-key dicts (30 keys), which slowed every
    attribute access in uvicorn's code too (7 µs a request, measured)."""

    __slots__ = ("deadline", "head_read", "reading", "refusal", "scope", "seen_bytes", "stage")

    def __init__(self) -> None:
        self.scope: object = None  # the request last seen beginning (uvicorn makes a scope per request)
        self.head_read = 0  # bytes read while a head arrives: bounds what httptools accumulates
        self.reading = 0  # size of the read being parsed
        self.refusal: tuple[int, str] | None = None
        self.seen_bytes = False
        self.deadline: float | None = None  # loop time by which the current stage must be done
        self.stage = _HEAD


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; `_State.refusal` says why."""


class Deadlines:
    """One timer per server looks at every connection's deadline each `tick` seconds.

    A timer per request (armed at its first byte, moved at the end of its headers, cancelled at
    the end of its body) cost more than everything else here together; a deadline is one float.
    """

    def __init__(self, tick: float) -> None:
        self._tick = tick
        self._connections: set[LimitedProtocol] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, protocol: LimitedProtocol) -> None:
        self._connections.add(protocol)
        if self._timer is None or self._loop is not protocol.loop:
            self._loop = protocol.loop
            self._timer = protocol.loop.call_later(self._tick, self._sweep, protocol.loop)

    def discard(self, protocol: LimitedProtocol) -> None:
        self._connections.discard(protocol)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        late = [p for p in self._connections if p.state.deadline is not None and p.state.deadline <= now]
        for protocol in late:
            protocol.expired()
        self._timer = loop.call_later(self._tick, self._sweep, loop) if self._connections else None


# asyncio.Transport's methods that have nothing to hold back, handed over as the transport's own.
# (A __getattr__ that passed them on sent every attribute access on this object, its own included,
# down CPython's slower lookup, and a method it had to find raised and caught an AttributeError
# first: 9 k instructions a request together, bench_protocol.)
_PASSED_ON = (
    "abort",
    "get_extra_info",
    "get_protocol",
    "get_write_buffer_limits",
    "get_write_buffer_size",
    "is_closing",
    "is_reading",
    "pause_reading",
    "resume_reading",
    "set_protocol",
    "set_write_buffer_limits",
)


class CorkedTransport:
    """A connection's transport whose writes within one loop turn leave as one.

    uvicorn writes a response's head and its body separately: two syscalls, and over loopback two
    TCP segments for the client to take in. Held until the end of the turn, a small answer leaves
    in one (so do SSE events made together). Write and close are its own; the rest of
    asyncio.Transport (`_PASSED_ON`) is the transport's.
    """

    __slots__ = ("_held", "_loop", "_transport", *_PASSED_ON)
    is_closing: Callable[[], bool]

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        for name in _PASSED_ON:
            method = getattr(transport, name, None)
            if method is not None:  # a test's stand-in may offer only some
                setattr(self, name, method)

    def write(self, data: bytes) -> None:
        if self._held:
            self._held.append(data)
        else:
            self._held = [data]
            self._loop.call_soon(self.flush)

    def write_now(self, data: bytes) -> None:
        """Write at once, after anything held (a whole response has nothing to wait for)."""
        if self._held:
            self._held.append(data)
            self.flush()
        elif not self._transport.is_closing():
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held:
            self._held = []
            if not self._transport.is_closing():
                self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits it lacks (it keeps its graceful drain).

    httptools accumulates a header being received in memory without bound, and uvicorn gives a
    request that never finishes no deadline: eight clients sending 50 MiB headers held 430 MB,
    and slowloris sockets stayed open for over ten minutes. Here:

    - the request line and headers may take `max_header_bytes` and `max_headers` (431 and close):
      counted per read while they arrive, so at most one read (256 KiB) more is ever held;
    - they must arrive within `header_timeout` of the connection opening (or, on a kept-alive
      connection, of the request's first byte), and the body within `body_timeout` of the
      headers (408 and close; a connection that never sent a byte is closed without an answer);
    - a kept-alive connection idle for uvicorn's keep-alive timeout is closed by the same sweep
      (uvicorn arms a timer after every response for it).

    On the hot path that is a few attribute updates per request. Writes go through a
    `CorkedTransport`.
    """

    limits: ClassVar[ProtocolLimits] = ProtocolLimits()
    deadlines: ClassVar[Deadlines]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = _State()

    # -- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked: Any = CorkedTransport(transport, self.loop)  # (an asyncio.Transport in all but name)
        super().connection_made(corked)
        self.state.deadline = self.loop.time() + self.limits.header_timeout
        self.deadlines.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.deadlines.discard(self)
        self.state.deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        state = self.state
        state.seen_bytes = True
        state.reading = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if state.refusal is not None:
                self._refuse(*state.refusal)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        # Where the head of a request is still arriving, count it and give it its deadline. (Done
        # here rather than in on_message_begin: an override there costs every request a call.)
        scope: Any = self.scope  # None until the first request begins (uvicorn types it otherwise)
        if scope is None or "method" in scope:
            return  # no request yet, or its headers are complete (on_headers_complete took over)
        if scope is not state.scope:  # it began in this read
            if state.scope is not None:
                # a later request gets a deadline of its own; the first one's runs from the connection
                state.deadline = self.loop.time() + self.limits.header_timeout
                state.stage = _HEAD
            state.scope = scope
        state.head_read += len(data)
        if state.head_read > self.limits.max_header_bytes:
            self._refuse(431, self._too_large())

    # -- parser callbacks ----------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        state, limits = self.state, self.limits
        if len(self.headers) > limits.max_headers:
            self._stop(
                f"Request header fields too large: more than {limits.max_headers} header fields "
                "(gateway.max_headers)"
            )
        # Headers that arrived within one read were not counted yet; measure them only then.
        if (
            state.head_read + state.reading > limits.max_header_bytes
            and self._head_size() > limits.max_header_bytes
        ):
            self._stop(self._too_large())
        HttpToolsProtocol.on_headers_complete(self)
        state.scope = self.scope
        state.head_read = 0
        state.stage = _BODY
        # A queued request's body is read only once its turn comes; the end of a body is not
        # hooked (it would cost every request a call): the sweep sees it in the cycle.
        state.deadline = None if self.pipeline else self.loop.time() + limits.body_timeout

    def on_response_complete(self) -> None:
        """uvicorn's, except that a kept-alive connection's idle deadline is one more for the sweep,
        not a timer armed after every response and cancelled at the next request (3 us a request)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            state = self.state
            state.deadline = self.loop.time() + self.timeout_keep_alive
            state.stage = _IDLE

    # -- limits --------------------------------------------------------------------------------

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _too_large(self) -> str:
        return (
            f"Request header fields too large: more than {self.limits.max_header_bytes} bytes "
            "(gateway.max_header_bytes)"
        )

    def _stop(self, message: str) -> None:
        self.state.refusal = (431, message)
        raise _Refused(message)

    def expired(self) -> None:
        """The current stage's deadline passed (called by `Deadlines`)."""
        self.state.deadline = None
        cycle = self.cycle
        if self.state.stage == _IDLE:  # no new request within uvicorn's keep-alive timeout
            if not self.transport.is_closing():
                self.transport.close()
            return
        if self.state.stage == _BODY and cycle is not None and not cycle.more_body:
            return  # the body arrived in time (the idle deadline, set with the answer, covers what follows)
        if self.state.stage == _BODY:
            what, seconds, setting = "the body", self.limits.body_timeout, "body_timeout"
        elif self.state.seen_bytes:
            what, seconds, setting = "the headers", self.limits.header_timeout, "header_timeout"
        else:  # an idle connection (a browser's preconnect): nothing to answer
            self.transport.close()
            return
        self._refuse(408, f"Request timeout: {what} did not arrive within {seconds:g}s (gateway.{setting})")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with a JSON-RPC error (unless a response is under way) and close."""
        self.state.deadline = None
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
    """The protocol class to hand uvicorn (`http=`), with these limits (one class per server)."""
    return type(
        "LimitedProtocol", (LimitedProtocol,), {"limits": limits, "deadlines": Deadlines(limits.tick)}
    )
