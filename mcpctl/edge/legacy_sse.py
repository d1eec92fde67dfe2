"""The deprecated 2024-11-05 HTTP+SSE transport: GET /sse for the stream, POST /messages to talk."""

from __future__ import annotations

import contextlib
import logging
from urllib.parse import parse_qs

from mcpctl.edge.asgi import Request, Send, SSEWriter, send_bytes
from mcpctl.edge.requests import HttpError, message_now, principal_of, read_message
from mcpctl.edge.standalone import pump
from mcpctl.gateway.pump import Gateway
from mcpctl.gateway.streams import Outbox
from mcpctl.protocol import codes
from mcpctl.protocol.sse import encode_event
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.sessions import LegacySession
from mcpctl.router.streams import Forwarded, Immediate, Listening
from mcpctl.tasks import TaskHost

log = logging.getLogger(__name__)


class LegacySSEEndpoint:
    """Every answer travels on the session's one SSE stream; POSTs are acknowledged with 202."""

    def __init__(
        self, gateway: Gateway, tasks: TaskHost, max_body: int, messages_path: str = "/messages"
    ) -> None:
        self._gateway = gateway
        self._tasks = tasks
        self._max_body = max_body
        self._messages_path = messages_path

    async def stream(self, request: Request, send: Send) -> None:
        """GET /sse: open a session and tell the client where to POST."""
        if request.method != "GET":
            raise HttpError(405, codes.INVALID_REQUEST, "use GET", headers=[(b"allow", b"GET")])
        session = self._gateway.new_sse_session(principal_of(request))
        if session is None:
            raise HttpError(429, codes.RATE_LIMITED, "Too many open sessions, all busy")
        session.stream_open = True
        outbox: Outbox = session.io
        sse = SSEWriter(send)
        try:
            await sse.start()
            await sse.raw(
                encode_event(f"{self._messages_path}?sessionId={session.id}".encode(), event="endpoint")
            )
            if await pump(sse, outbox, request.receive, event="message"):
                with contextlib.suppress(OSError):
                    await sse.end()  # mcpctl ended the session (a revoked key, shutdown)
        finally:
            session.stream_open = False
            # The stream is the session in this transport: when it goes, the session goes.
            self._gateway.close_session(session)

    async def message(self, request: Request, send: Send) -> None:
        """POST /messages?sessionId=...: handle one message; its answer goes to the stream."""
        if request.method != "POST":
            raise HttpError(405, codes.INVALID_REQUEST, "use POST", headers=[(b"allow", b"POST")])
        session = self._session(request)
        msg = message_now(request, self._max_body) or await read_message(request, self._max_body)
        ctx = ClientContext.for_session(
            session, remote=request.client, user_agent=request.headers.get("user-agent", "")
        )
        outbox: Outbox = session.io
        if msg.get("method") == "initialize" and "id" in msg:
            outbox.put(self._gateway.open_session(ctx, msg, existing=session).message)
        else:
            reply = self._gateway.handle(ctx, msg)
            if isinstance(reply, Immediate):
                outbox.put(reply.message)
            elif isinstance(reply, Forwarded):
                self._tasks.spawn(self._relay, outbox, reply.call, name="relaying a call to an /sse session")
            elif isinstance(reply, Listening):
                self._gateway.remove_listener(reply.listener)
        await send_bytes(send, 202, b"Accepted", b"text/plain")

    def _session(self, request: Request) -> LegacySession:
        query = parse_qs(request.query.decode("latin-1"))
        session_id = (query.get("sessionId") or query.get("session_id") or [""])[0]
        session = self._gateway.session(session_id) if session_id else None
        if (
            session is None
            or session.transport != "sse"
            or session.principal.name != principal_of(request).name
        ):
            raise HttpError(404, codes.INVALID_REQUEST, "Session not found: open a new stream with GET /sse")
        return session

    async def _relay(self, outbox: Outbox, call: Call) -> None:
        async for msg, _final in self._gateway.stream(call):
            outbox.put(msg)
