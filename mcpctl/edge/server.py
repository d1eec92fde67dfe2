"""mcpctl's HTTP/1.1 protocol on httptools, run by uvicorn's server, with limits for a public endpoint."""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import httptools
from uvicorn.config import Config
from uvicorn.server import ServerState

from mcpctl.edge.asgi import direct
from mcpctl.edge.cycle import STATUS_LINE, Cycle, whole_response
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import dumps, error

log = logging.getLogger("mcpctl.edge")

_HEAD, _BODY, _IDLE = 0, 1, 2  # which deadline a connection is under
HIGH_WATER: Final = 64 * 1024  # body bytes held for the app before the socket stops being read
_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}


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


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; `EdgeProtocol.refusal` says why."""


class Deadlines:
    """One timer per server looks at every connection's deadline each `tick` seconds.

    A timer per request (armed at its first byte, moved at the end of its headers, cancelled at
    the end of its body) cost more than everything else here together; a deadline is one float.
    """

    def __init__(self, tick: float) -> None:
        self._tick = tick
        self._connections: set[EdgeProtocol] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, protocol: EdgeProtocol) -> None:
        self._connections.add(protocol)
        if self._timer is None or self._loop is not protocol.loop:
            self._loop = protocol.loop
            self._timer = protocol.loop.call_later(self._tick, self._sweep, protocol.loop)

    def discard(self, protocol: EdgeProtocol) -> None:
        self._connections.discard(protocol)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        late = [p for p in self._connections if p.deadline is not None and p.deadline <= now]
        for protocol in late:
            protocol.expired()
        self._timer = loop.call_later(self._tick, self._sweep, loop) if self._connections else None


class EdgeProtocol(asyncio.Protocol):
    """One client connection: HTTP/1.1 parsed by httptools, each request served to the ASGI app
    by a `Cycle`, under uvicorn's server (which binds, renews the Date header, and drains gracefully
    through `connections`, `tasks` and `shutdown`). One task per connection, the worker, serves its
    requests one after another: a task per request cost each one about 8 k instructions (the task,
    its entry in asyncio's weak set of tasks and its removal). A request that arrives while the
    worker is still finishing the one before (its answer sent, its app not yet returned) gets a
    task of its own, so nothing waits on that.

    uvicorn's own protocol does per request what is not needed here: a scope dict built key by
    key, a cycle made with eleven keyword arguments, an asyncio.Event, a timer armed after every
    answer (118 k instructions a request against this one's 102 k on the same ASGI path,
    bench_protocol; the host's one-step paths, `Cycle.take_whole` and `answer_whole`, skip
    more). It also lacks limits a public endpoint needs: httptools accumulates a header being
    received without bound, and a request that never finishes has no deadline (eight clients
    sending 50 MiB headers held 430 MB; slowloris sockets stayed open for over ten minutes). Here:

    - the request line and headers may take `max_header_bytes` and `max_headers` (431 and close):
      counted per read while they arrive, so at most one read (256 KiB) more is ever held;
    - they must arrive within `header_timeout` of the connection opening (or, on a kept-alive
      connection, of the request's first byte), and the body within `body_timeout` of the
      headers (408 and close; a connection that never sent a byte is closed without an answer);
    - a kept-alive connection idle for the keep-alive timeout is closed by the same sweep.

    Writes within one turn of the loop leave as one (`write`): a response's head and body, or SSE
    events made together, in one syscall and, over loopback, one TCP segment.
    """

    limits: ClassVar[ProtocolLimits] = ProtocolLimits()
    deadlines: ClassVar[Deadlines]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.app = direct(config.loaded_app)
        self.loop = _loop or asyncio.get_running_loop()
        self.server_state = server_state
        self.keep_alive_timeout = config.timeout_keep_alive
        self.parser = httptools.HttpRequestParser(self)
        # A pipelined request right after one that says `connection: close` is not an error here.
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self.scope_base: dict[str, Any] = {}
        self.cycle: Cycle | None = None
        self.pipeline: deque[Cycle] = deque()  # requests that arrived before the one ahead was answered
        self.held: list[bytes] = []  # writes waiting for the end of the loop's turn
        self.write_paused = False
        self.read_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.worker: asyncio.Task[None] | None = None  # serves this connection's requests in turn
        self.worker_idle: asyncio.Future[Cycle | None] | None = None  # the worker waits on it for one
        # the request whose head is arriving
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect_continue = False
        self.in_head = False
        self.requests = 0  # begun on this connection
        # limits
        self.head_read = 0  # bytes read while a head arrives: bounds what httptools accumulates
        self.reading = 0  # size of the read being parsed
        self.refusal: tuple[int, str] | None = None
        self.seen_bytes = False
        self.deadline: float | None = None  # loop time by which the current stage must be done
        self.stage = _HEAD

    # -- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream server's transport
        self.server_state.connections.add(self)  # type: ignore[arg-type]  # (uvicorn lists its own)
        server = transport.get_extra_info("sockname")
        client = transport.get_extra_info("peername")
        self.scope_base = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "server": tuple(server[:2]) if isinstance(server, tuple) else None,
            "client": tuple(client[:2]) if isinstance(client, tuple) else None,
            "scheme": "https" if transport.get_extra_info("sslcontext") else "http",
            "root_path": "",
        }
        self.deadline = self.loop.time() + self.limits.header_timeout
        self.deadlines.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self.deadlines.discard(self)
        self.deadline = None
        self.held = []
        for cycle in (self.cycle, *self.pipeline):
            if cycle is not None:
                if not cycle.response_complete:
                    cycle.disconnected = True
                cycle.wake()
        self.pipeline.clear()
        self._release_worker()
        self.resume_writing()
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        pass  # a half-closed client may still read its answer; asyncio closes after it

    def shutdown(self) -> None:
        """The server drains: close if idle, else after the answer under way."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self.transport.close()
        else:
            cycle.keep_alive = False

    def data_received(self, data: bytes) -> None:
        self.seen_bytes = True
        self.reading = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            log.warning("Unsupported upgrade request.")  # (no WebSocket here) served as plain HTTP
            return
        except httptools.HttpParserError:
            if self.refusal is not None:
                self._refuse(*self.refusal)
            else:
                log.warning("Invalid HTTP request received.")
                self._send_400("Invalid HTTP request received.")
            return
        # Where the head of a request is still arriving, count it (done here, once a read, rather
        # than in on_url and on_header for every piece).
        if self.in_head:
            self.head_read += len(data)
            if self.head_read > self.limits.max_header_bytes:
                self._refuse(431, self._too_large())

    # -- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_continue = False
        self.in_head = True
        self.head_read = 0
        self.requests += 1
        if self.requests > 1:  # a later request's head gets a deadline of its own
            self.deadline = self.loop.time() + self.limits.header_timeout
            self.stage = _HEAD

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        # llhttp keeps trailing whitespace, which RFC 9110 (5.5) excludes from the value
        value = value.rstrip(b" \t")
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            self._stop(
                f"Request header fields too large: more than {limits.max_headers} header fields "
                "(gateway.max_headers)"
            )
        # Headers that arrived within one read were not counted yet; measure them only then.
        if (
            self.head_read + self.reading > limits.max_header_bytes
            and self._head_size() > limits.max_header_bytes
        ):
            self._stop(self._too_large())
        self.in_head = False
        parser = self.parser
        scope = self.scope_base.copy()
        scope["method"] = parser.get_method().decode("ascii")
        version = parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        url = self.url
        text = url.decode("latin-1")  # (`in` on str: on bytes it makes and clears a TypeError first)
        if text[:1] == "/" and "?" not in text and "%" not in text and "#" not in text and text.isascii():
            raw_path, query, path = url, b"", text  # the common case, without parse_url's object
        else:
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path, parsed.query or b""
            path = raw_path.decode("ascii")
            if "%" in path:
                path = urllib.parse.unquote(path)
        scope["path"] = path
        scope["raw_path"] = raw_path
        scope["query_string"] = query
        scope["headers"] = self.headers
        keep_alive = version != "1.0" and parser.should_keep_alive()
        cycle = Cycle(self, scope, self.server_state.default_headers, keep_alive, self.expect_continue)
        ahead = self.cycle
        self.cycle = cycle
        self.stage = _BODY
        if ahead is None or ahead.response_complete:
            self._start(cycle)
            self.deadline = self.loop.time() + limits.body_timeout
        else:  # pipelined: its body is read, and given its deadline, once its turn comes
            self.pause_reading()
            self.pipeline.appendleft(cycle)
            self.deadline = None

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        cycle.body += body
        if len(cycle.body) > HIGH_WATER:
            self.pause_reading()
        cycle.wake()

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        cycle.more_body = False
        cycle.wake()
        # (the end of a body is not given a deadline stage of its own: the sweep sees it in the cycle)

    # -- for the cycle (cycle.Connection) ------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write at the end of this turn of the loop, with whatever else is written in it."""
        if self.held:
            self.held.append(data)
        else:
            self.held = [data]
            self.loop.call_soon(self.flush)

    def write_now(self, data: bytes) -> None:
        """Write at once, after anything held (a whole response has nothing to wait for)."""
        if self.held:
            self.held.append(data)
            self.flush()
        elif not self.transport.is_closing():
            self.transport.write(data)

    def flush(self) -> None:
        held = self.held
        if held:
            self.held = []
            if not self.transport.is_closing():
                self.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def pause_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()

    async def drain(self) -> None:
        """Until the socket's buffer has room again (asyncio said `pause_writing`)."""
        if self.drained is None:
            self.drained = self.loop.create_future()
        await asyncio.shield(self.drained)

    def response_done(self, cycle: Cycle) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.resume_reading()
        if self.pipeline:
            self._start(self.pipeline.pop())
            self.stage = _BODY
            self.deadline = self.loop.time() + self.limits.body_timeout
        else:
            # kept alive: the sweep closes it if no request begins in time (no timer per answer)
            self.deadline = self.loop.time() + self.keep_alive_timeout
            self.stage = _IDLE

    # -- asyncio.Protocol flow control ---------------------------------------------------------

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    # -- serving -------------------------------------------------------------------------------

    def _start(self, cycle: Cycle) -> None:
        tasks = self.server_state.tasks
        worker, idle = self.worker, self.worker_idle
        if worker is None:  # the connection's first request
            self.worker = worker = self.loop.create_task(self._work(cycle))
            tasks.add(worker)
        elif idle is not None:  # the worker waits: it takes this one
            self.worker_idle = None
            tasks.add(worker)  # busy again: uvicorn's graceful drain waits for it
            idle.set_result(cycle)
        else:  # the worker is still finishing the request before
            cycle.task = task = self.loop.create_task(cycle.run(self.app, tasks))
            tasks.add(task)

    async def _work(self, first: Cycle) -> None:
        """The worker: serve requests in turn until the connection closes."""
        tasks = self.server_state.tasks
        worker = self.worker  # (set by `_start` before this runs)
        assert worker is not None
        cycle: Cycle | None = first
        try:
            while cycle is not None:
                await cycle.run(self.app, tasks)  # (never raises but to cancel: a failure is a 500)
                cycle = None  # not held while the connection idles
                tasks.discard(worker)  # idle: nothing for the drain to wait for
                if self.transport.is_closing():
                    return
                self.worker_idle = idle = self.loop.create_future()
                cycle = await idle  # the next request, or None when the connection is lost
        finally:
            tasks.discard(worker)
            self.worker = self.worker_idle = None

    def _release_worker(self) -> None:
        """The connection is lost: a worker waiting for the next request ends."""
        idle, self.worker_idle = self.worker_idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    # -- limits --------------------------------------------------------------------------------

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _too_large(self) -> str:
        return (
            f"Request header fields too large: more than {self.limits.max_header_bytes} bytes "
            "(gateway.max_header_bytes)"
        )

    def _stop(self, message: str) -> None:
        self.refusal = (431, message)
        raise _Refused(message)

    def expired(self) -> None:
        """The current stage's deadline passed (called by `Deadlines`)."""
        self.deadline = None
        cycle = self.cycle
        if self.stage == _IDLE:  # no new request within the keep-alive timeout
            if not self.transport.is_closing():
                self.transport.close()
            return
        if self.stage == _BODY and cycle is not None and not cycle.more_body:
            return  # the body arrived in time (the idle deadline, set with the answer, covers what follows)
        if self.stage == _BODY:
            what, seconds, setting = "the body", self.limits.body_timeout, "body_timeout"
        elif self.seen_bytes:
            what, seconds, setting = "the headers", self.limits.header_timeout, "header_timeout"
        else:  # an idle connection (a browser's preconnect): nothing to answer
            self.transport.close()
            return
        self._refuse(408, f"Request timeout: {what} did not arrive within {seconds:g}s (gateway.{setting})")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with a JSON-RPC error (unless a response is under way) and close."""
        self.deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answering = cycle is None or cycle.response_complete or not cycle.response_started
        if cycle is not None and not cycle.response_complete:
            # the app is waiting for the rest of the body: it sees the client go
            cycle.disconnected = True
            cycle.wake()
        if answering:
            body = dumps(error(None, codes.INVALID_REQUEST, message))
            self._write_closing(status, b"application/json", body)
        self.close()

    def _send_400(self, message: str) -> None:
        self._write_closing(400, b"text/plain; charset=utf-8", message.encode("ascii"))
        self.close()

    def _write_closing(self, status: int, content_type: bytes, body: bytes) -> None:
        default_headers = self.server_state.default_headers
        self.write_now(whole_response(STATUS_LINE[status], default_headers, content_type, body, close=True))


def edge_protocol(limits: ProtocolLimits) -> type[EdgeProtocol]:
    """The protocol class to hand uvicorn (`http=`), with these limits (one class per server)."""
    return type("EdgeProtocol", (EdgeProtocol,), {"limits": limits, "deadlines": Deadlines(limits.tick)})
