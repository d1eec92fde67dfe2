"""The deprecated 2024-11-05 HTTP+SSE transport: GET /sse for the stream, POST /messages to talk."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from mcpctl.edge.asgi import ClientGone, Request, Send, SSEWriter, send_bytes, send_json
from mcpctl.edge.pump import pump
from mcpctl.edge.requests import HttpError, principal_of, read_message
from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.engine import Gateway
from mcpctl.gateway.replies import Forwarded, Immediate, Listening
from mcpctl.gateway.sessions import LegacySession, new_session_id
from mcpctl.protocol import codes
from mcpctl.protocol.sse import encode_event

log = logging.getLogger(__name__)


class LegacySSEEndpoint:
    """Every answer travels on the session's one SSE stream; POSTs are acknowledged with 202."""

    def __init__(self, gateway: Gateway, max_body: int, messages_path: str = "/messages") -> None:
        self._gateway = gateway
        self._max_body = max_body
        self._messages_path = messages_path
        self._pumps: set[asyncio.Task[None]] = set()

    async def stream(self, request: Request, send: Send) -> None:
        """GET /sse: open a session and tell the client where to POST."""
        if request.method != "GET":
            await send_json(
                send,
                405,
                {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": codes.INVALID_REQUEST, "message": "use GET"},
                },
            )
            return
        session = LegacySession(
            id=new_session_id(),
            protocol_version="2024-11-05",
            capabilities={},
            client_info={},
            principal=principal_of(request),
            transport="sse",
        )
        session.stream_open = True
        self._gateway.sessions.add(session)
        sse = SSEWriter(send)
        try:
            await sse.start()
            await sse.raw(
                encode_event(f"{self._messages_path}?sessionId={session.id}".encode(), event="endpoint")
            )
            await pump(sse, session.outbox, request.receive, event="message")
        finally:
            session.stream_open = False
            # The stream is the session in this transport: when it goes, the session goes.
            await self._gateway.close_session(session)

    async def message(self, request: Request, send: Send) -> None:
        """POST /messages?sessionId=...: handle one message; its answer goes to the stream."""
        try:
            if request.method != "POST":
                raise HttpError(405, codes.INVALID_REQUEST, "use POST")
            session = self._session(request)
            msg = await read_message(request, self._max_body)
            ctx = ClientContext.for_session(
                session, remote=request.client, user_agent=request.headers.get("user-agent", "")
            )
            if msg.get("method") == "initialize" and "id" in msg:
                session.outbox.put(self._gateway.open_session(ctx, msg, existing=session).message)
            else:
                reply = await self._gateway.handle(ctx, msg)
                if isinstance(reply, Immediate):
                    session.outbox.put(reply.message)
                elif isinstance(reply, Forwarded):
                    self._spawn_pump(session, reply.call)
                elif isinstance(reply, Listening):
                    self._gateway.remove_listener(reply.listener)
            await send_bytes(send, 202, b"Accepted", b"text/plain")
        except HttpError as exc:
            await send_json(send, exc.status, exc.body)
        except ClientGone:
            return

    def _session(self, request: Request) -> LegacySession:
        query = parse_qs(request.query.decode("latin-1"))
        session_id = (query.get("sessionId") or query.get("session_id") or [""])[0]
        session = self._gateway.sessions.get(session_id) if session_id else None
        if (
            session is None
            or session.transport != "sse"
            or session.principal.name != principal_of(request).name
        ):
            raise HttpError(404, codes.INVALID_REQUEST, "Session not found: open a new stream with GET /sse")
        return session

    def _spawn_pump(self, session: LegacySession, call: Call) -> None:
        async def pump() -> None:
            try:
                async for msg, _final in self._gateway.stream(call):
                    session.outbox.put(msg)
            except Exception:
                log.exception("relaying a call to a legacy SSE session failed")

        task = asyncio.get_running_loop().create_task(pump())
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)
