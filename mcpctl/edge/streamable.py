"""The Streamable HTTP endpoint (/mcp) for both eras: stateless 2026-07-28 and 2025 sessions."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable, Coroutine, Iterator
from typing import Any

from mcpctl.edge.asgi import (
    Request,
    Send,
    SSEWriter,
    send_empty,
    send_json,
    watch_disconnect,
)
from mcpctl.edge.fleetstream import fleet_stream
from mcpctl.edge.late import LateCalls
from mcpctl.edge.requests import HttpError, message_now, principal_of, read_message
from mcpctl.edge.standalone import pump
from mcpctl.fleet.store import StateUnavailable
from mcpctl.gateway.pump import Gateway
from mcpctl.gateway.streams import CallStream
from mcpctl.protocol import codes, headers
from mcpctl.protocol.eras import (
    LATEST_LEGACY,
    LEGACY,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SUBSCRIPTION_ID,
    MODERN,
    MODERN_VERSIONS,
)
from mcpctl.protocol.jsonrpc import REQUEST, Message, kind_of, meta_of, params_of
from mcpctl.router.context import ClientContext, Principal
from mcpctl.router.sessions import LegacySession
from mcpctl.router.streams import Accepted, Forwarded, Immediate, Listening, Reply

log = logging.getLogger(__name__)

# requests that change what a session remembers (in a fleet, written back for every instance)
_SESSION_CHANGES = frozenset({"logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
# 2026-07-28 transport errors that carry an HTTP status of their own
_MODERN_STATUS = {
    codes.METHOD_NOT_FOUND: 404,
    codes.HEADER_MISMATCH: 400,
    codes.UNSUPPORTED_PROTOCOL_VERSION: 400,
    codes.MISSING_CLIENT_CAPABILITY: 400,
}
_ALLOW = [(b"allow", b"GET, POST, DELETE")]  # what a 405 from /mcp says the endpoint takes


def _ids() -> Iterator[str]:
    """Request ids for the audit trail: unique across runs and instances (a random prefix of the
    process's) without a system call per request (os.urandom per request cost one)."""
    prefix = os.urandom(4).hex()
    for n in itertools.count(1):
        yield f"{prefix}{n:08x}"


_request_ids = _ids()


class StreamableEndpoint:
    """POST (messages), GET (a session's standalone stream) and DELETE (end a session) on /mcp."""

    def __init__(self, gateway: Gateway, max_body: int) -> None:
        self._gateway = gateway
        self._max_body = max_body
        self._late = LateCalls()

    def __call__(self, request: Request, send: Send) -> Awaitable[None]:
        """The method's coroutine (a plain function: EdgeApp awaits it, and answers an HttpError)."""
        method = request.method
        if method == "POST":
            return self._post(request, send)
        if method == "GET":
            return self._get(request, send)
        if method == "DELETE":
            return self._delete(request, send)
        raise HttpError(
            405,
            codes.INVALID_REQUEST,
            f"Method {method} not allowed; use POST, GET or DELETE",
            headers=_ALLOW,
        )

    # -- POST ------------------------------------------------------------------------------------

    def _post(self, request: Request, send: Send) -> Awaitable[None]:
        """The reply's coroutine, where nothing needs waiting for first (a body that arrived whole,
        a modern request): a plain function, so a call's chain of coroutine frames is one shorter."""
        msg = message_now(request, self._max_body)
        if msg is None:
            return self._read_and_post(request, send)
        found = self._context(request, msg)
        if isinstance(found, ClientContext) and found.era is MODERN:  # no session, no initialize
            found.request_id = next(_request_ids)
            return self._respond(request, send, found, self._gateway.handle(found, msg))
        return self._post_message(request, send, msg, found)

    async def _read_and_post(self, request: Request, send: Send) -> None:
        msg = await read_message(request, self._max_body)
        await self._post_message(request, send, msg, self._context(request, msg))

    async def _post_message(
        self,
        request: Request,
        send: Send,
        msg: Message,
        found: ClientContext | Coroutine[Any, Any, ClientContext],
    ) -> None:
        ctx = found if isinstance(found, ClientContext) else await found
        ctx.request_id = next(_request_ids)
        if msg.get("method") == "initialize" and kind_of(msg) is REQUEST and ctx.era is LEGACY:
            reply: Reply = self._gateway.open_session(ctx, msg)
            if isinstance(reply, Immediate) and reply.session is not None:
                await self._gateway.session_opened(reply.session)
        else:
            reply = self._gateway.handle(ctx, msg)
            if ctx.session is not None and msg.get("method") in _SESSION_CHANGES:
                await self._gateway.session_changed(ctx.session)
        await self._respond(request, send, ctx, reply)

    def _context(self, request: Request, msg: Message) -> ClientContext | Coroutine[Any, Any, ClientContext]:
        """The caller's context; a coroutine to await instead when a session or the fleet must be
        asked (a plain function, so the common modern request makes no coroutine for it)."""
        principal = principal_of(request)
        common = {
            "principal": principal,
            "remote": request.client,
            "user_agent": request.headers.get("user-agent", ""),
        }
        header_version = request.headers.get(headers.PROTOCOL_VERSION, "").strip()
        meta = meta_of(msg)  # is_modern_request's test, with the meta kept for _modern_context
        modern = META_PROTOCOL_VERSION in meta or header_version in MODERN_VERSIONS
        if msg.get("method") == "initialize" and not modern:
            return ClientContext(LEGACY, LATEST_LEGACY, {}, {}, **common)  # type: ignore[arg-type]
        session_id = request.headers.get(headers.SESSION_ID)
        if session_id is not None:
            return self._session_context(session_id, principal, msg, common)
        if modern:
            ctx = self._modern_context(request, msg, meta, common)
            if self._gateway.fleet is not None:
                return self._fleet_context(ctx, principal, msg)
            return ctx
        if kind_of(msg) is not REQUEST:
            raise HttpError(
                400, codes.INVALID_REQUEST, "Bad Request: no Mcp-Session-Id header; start with initialize"
            )
        raise HttpError(
            400,
            codes.INVALID_REQUEST,
            "Bad Request: this request has neither an Mcp-Session-Id (send initialize first) "
            "nor the 2026-07-28 "
            f"_meta[{META_PROTOCOL_VERSION!r}]",
            msg.get("id"),
        )

    async def _session_context(
        self, session_id: str, principal: Principal, msg: Message, common: dict[str, Any]
    ) -> ClientContext:
        session, verdicts = await self._session(session_id, principal, msg.get("id"), msg)
        return ClientContext.for_session(session, verdicts=verdicts, **common)

    async def _fleet_context(self, ctx: ClientContext, principal: Principal, msg: Message) -> ClientContext:
        """A modern request's context with the verdicts of its principal's limits across the fleet."""
        with contextlib.suppress(StateUnavailable):  # the store is down: limits count locally
            _, ctx.verdicts = await self._gateway.find_session(None, principal, msg)
        return ctx

    async def _session(
        self, session_id: str, principal: Principal, req_id: Any, msg: Message | None = None
    ) -> tuple[LegacySession, tuple[int, ...] | None]:
        session, verdicts = await self._gateway.find_session(session_id, principal, msg)
        # A session bound to another principal is as good as unknown: never confirm it exists.
        if session is None or session.transport != "streamable":
            raise HttpError(
                404,
                codes.INVALID_REQUEST,
                "Session not found: it expired or was closed; send initialize again",
                req_id,
            )
        return session, verdicts

    def _modern_context(
        self, request: Request, msg: Message, meta: dict[str, Any], common: dict[str, Any]
    ) -> ClientContext:
        req_id = msg.get("id")
        if "id" not in msg:  # a notification (the message is valid: a response has an id)
            return ClientContext(MODERN, MODERN_VERSIONS[0], {}, {}, **common)
        version = meta.get(META_PROTOCOL_VERSION)
        if version is None:
            raise HttpError(
                400,
                codes.INVALID_PARAMS,
                f"Invalid params: _meta[{META_PROTOCOL_VERSION!r}] is required",
                req_id,
            )
        try:  # headers first: a header that disagrees with the body is a mismatch whatever the version
            headers.check_standard_headers(request.headers, msg)
            if msg["method"] == "tools/call":
                self._check_param_headers(request, msg)
        except headers.HeaderMismatch as exc:
            raise HttpError(400, codes.HEADER_MISMATCH, str(exc), req_id) from exc
        if version not in MODERN_VERSIONS:
            raise HttpError(
                400,
                codes.UNSUPPORTED_PROTOCOL_VERSION,
                "Unsupported protocol version",
                req_id,
                {"supported": [*MODERN_VERSIONS, *LEGACY_VERSIONS], "requested": version},
            )
        capabilities = meta.get(META_CLIENT_CAPABILITIES)
        if not isinstance(capabilities, dict):
            raise HttpError(
                400,
                codes.INVALID_PARAMS,
                f"Invalid params: _meta[{META_CLIENT_CAPABILITIES!r}] is required",
                req_id,
            )
        info = meta.get(META_CLIENT_INFO)
        level = meta.get(META_LOG_LEVEL)
        return ClientContext(
            MODERN,
            str(version),
            capabilities,
            info if isinstance(info, dict) else {},
            log_level=level if isinstance(level, str) else None,
            **common,
        )

    def _check_param_headers(self, request: Request, msg: Message) -> None:
        params = params_of(msg)
        name = params.get("name")
        tool = self._gateway.router.catalog.tool(name) if isinstance(name, str) else None
        if tool is not None:
            headers.check_param_headers(request.headers, tool.get("inputSchema"), params.get("arguments"))

    # -- replies ---------------------------------------------------------------------------------

    def _respond(self, request: Request, send: Send, ctx: ClientContext, reply: Reply) -> Awaitable[None]:
        # Not a coroutine itself: it only picks one, which then runs without a frame above it.
        if isinstance(reply, Forwarded):
            return self._stream_call(request, send, reply)
        if isinstance(reply, Immediate):
            extra = [(b"mcp-session-id", reply.session.id.encode())] if reply.session else None
            return send_json(send, self._status(ctx, reply), reply.message, extra)
        if isinstance(reply, Accepted):
            return send_empty(send, 202)
        return self._stream_listener(request, send, reply)

    @staticmethod
    def _status(ctx: ClientContext, reply: Immediate) -> int:
        return reply.status if reply.status != 200 else _message_status(ctx, reply.message)

    async def _stream_call(self, request: Request, send: Send, reply: Forwarded) -> None:
        """JSON when the response comes first; an SSE stream when anything precedes it."""
        call = reply.call
        gone = False
        watcher: asyncio.Task[None] | None = None

        def disconnected() -> None:
            nonlocal gone
            gone = True
            self._gateway.cancel(call, "the client closed the connection")

        def watch() -> None:
            nonlocal watcher
            if watcher is None:
                watcher = watch_disconnect(request.receive, disconnected)

        # Most calls answer within milliseconds: only a call still running after a short grace is
        # worth a task that notices the client going away (closing the stream is how 2026-07-28
        # cancels), which keeps the common path cheap.
        # Read directly: an async generator per call cost more than this loop, and `box.next()` a
        # coroutine more than `take` and `arrival`.
        box: CallStream = call.io
        self._late.add(box, watch)  # (a retry after a round of input reads a new box of the same call)
        sse: SSEWriter | None = None  # made once something comes before the answer (most calls: never)
        answered = False
        try:
            while not answered:
                found = box.take()
                if found is None:
                    await box.arrival()
                    continue
                msg, answered = found
                if gone:
                    continue  # drain: the engine still finishes the call's bookkeeping
                if answered and sse is None:
                    await send_json(send, _message_status(call.ctx, msg), msg)
                    return
                watch()
                if sse is None:
                    if not request.accepts("text/event-stream"):
                        continue  # a JSON-only client cannot receive progress; it gets the result
                    sse = SSEWriter(send)
                    await sse.start()
                await sse.event(msg)
            if sse is not None and not gone:
                await sse.end()
        except OSError:
            self._gateway.cancel(call, "the connection failed")
        finally:
            self._late.discard(box)
            if not answered:
                self._gateway.cancel(call, "the client went away")
            if watcher is not None:
                watcher.cancel()

    async def _stream_listener(self, request: Request, send: Send, reply: Listening) -> None:
        listener = reply.listener
        sse = SSEWriter(send)
        try:
            await sse.start()
            await sse.event(reply.ack)
            if await pump(sse, listener.io, request.receive):
                # The gateway is ending the subscription (shutdown, a revoked key): say so, then close.
                meta = {META_SUBSCRIPTION_ID: listener.request_id}
                await sse.event(
                    {
                        "jsonrpc": "2.0",
                        "id": listener.request_id,
                        "result": {"resultType": "complete", "_meta": meta},
                    }
                )
                await sse.end()
        finally:
            self._gateway.remove_listener(listener)

    # -- GET and DELETE --------------------------------------------------------------------------

    async def _get(self, request: Request, send: Send) -> None:
        session_id = request.headers.get(headers.SESSION_ID)
        if session_id is None:
            raise HttpError(
                405,
                codes.INVALID_REQUEST,
                "GET needs an Mcp-Session-Id (2026-07-28 has no GET stream)",
                headers=_ALLOW,
            )
        if not request.accepts("text/event-stream"):
            raise HttpError(406, codes.INVALID_REQUEST, "Not Acceptable: GET streams are text/event-stream")
        session, _ = await self._session(session_id, principal_of(request), None)
        if self._gateway.fleet is not None:
            await fleet_stream(self._gateway.fleet.events, session, request, send)
            return
        if session.stream_open:
            raise HttpError(
                409, codes.INVALID_REQUEST, "Conflict: this session already has an open GET stream"
            )
        session.stream_open = True
        sse = SSEWriter(send)
        try:
            await sse.start([(b"mcp-session-id", session.id.encode())])
            if await pump(sse, session.io, request.receive):
                with contextlib.suppress(OSError):
                    await sse.end()
        finally:
            session.stream_open = False

    async def _delete(self, request: Request, send: Send) -> None:
        session_id = request.headers.get(headers.SESSION_ID)
        if session_id is None:
            raise HttpError(405, codes.INVALID_REQUEST, "DELETE needs an Mcp-Session-Id", headers=_ALLOW)
        session, _ = await self._session(session_id, principal_of(request), None)
        await self._gateway.session_ended(session)
        await send_empty(send, 200)


def _message_status(ctx: ClientContext | None, msg: Message) -> int:
    """2026-07-28 gives some JSON-RPC errors an HTTP status of their own; others travel in a 200."""
    if ctx is None or ctx.era is not MODERN:
        return 200
    err = msg.get("error")
    code = err.get("code") if isinstance(err, dict) else None
    return _MODERN_STATUS.get(code, 200) if isinstance(code, int) else 200
