"""The gateway engine: answers what it can itself and forwards the rest to the right backend."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, ClassVar

from mcpctl import __version__
from mcpctl.errors import UnavailableError
from mcpctl.gateway.adapt import interim_for_client, request_for_backend, response_for_client
from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.fanout import Fanout
from mcpctl.gateway.hooks import CallHooks, NoHooks
from mcpctl.gateway.mrtr import MAX_ROUNDS, RelayFailed, needs_relay, relay
from mcpctl.gateway.replies import Accepted, Forwarded, Immediate, Listener, Listening, Reply
from mcpctl.gateway.sessions import LegacySession, SessionStore, new_session_id
from mcpctl.gateway.upstream import Upstream
from mcpctl.protocol import codes
from mcpctl.protocol.catalog import LIST_KINDS, Catalog
from mcpctl.protocol.eras import (
    ALL_VERSIONS,
    LOG_LEVELS,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
    Era,
    negotiate_legacy,
)
from mcpctl.protocol.jsonrpc import Kind, Message, error, kind_of, params_of, result
from mcpctl.protocol.pagination import InvalidCursor, paginate

log = logging.getLogger(__name__)

_LISTS = {
    "tools/list": ("tools", "tools"),
    "prompts/list": ("prompts", "prompts"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resourceTemplates", "resourceTemplates"),
}
# Removed in 2026-07-28: a stateless request for them is an unknown method.
LEGACY_ONLY_METHODS = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
LIST_TTL_MS = 60_000  # modern list results: how long a client may cache (list_changed still arrives)
# Requests routed by params.name: what their errors call the thing, and where its route is kept.
_NAMED = {
    "tools/call": ("tool", Catalog.route_tool),
    "prompts/get": ("prompt", Catalog.route_prompt),
}


class Gateway(Fanout):
    """Routes client requests to backends by the aggregated catalog; speaks both eras to clients.

    The supervisor reports servers coming and going (`server_up`/`server_down`) and the
    upstreams report what backends send outside of responses (`Fanout`). The edge calls
    `handle` for each client message and `stream` for each forwarded call.
    """

    def __init__(
        self,
        *,
        order: list[str],
        prefixes: dict[str, str],
        sessions: SessionStore,
        upstream_for: Callable[[str, str | None], Awaitable[Upstream]],
        end_session: Callable[[str], Awaitable[None]],
        call_timeouts: dict[str, tuple[float, float]],
        page_size: int = 500,
        bridge: str | None = None,
        hooks: CallHooks | None = None,
        private_views: bool = False,
    ) -> None:
        super().__init__(sessions)
        self.catalog = Catalog(order)
        self._prefixes = prefixes
        self._upstream_for = upstream_for
        self._end_session = end_session
        self._call_timeouts = call_timeouts
        self._page_size = page_size
        self.bridge = bridge  # the single server of `mcpctl serve -- COMMAND`, served without prefix
        self.hooks: CallHooks = hooks or NoHooks()
        self._cache_scope = "private" if private_views else "public"
        self.upstreams: dict[str, Upstream] = {}

    # -- servers coming and going (SupervisorEvents) -------------------------------------------

    def server_up(self, name: str, upstream: Upstream) -> None:
        self.upstreams[name] = upstream
        changed = self.catalog.set_server(name, self._prefixes.get(name, name), upstream.lists)
        self.restore_subscriptions(name, upstream)
        self.broadcast_list_changed(changed)
        self.hooks.server_changed(name, True)

    def server_down(self, name: str, reason: str, *, forget: bool) -> None:
        self.upstreams.pop(name, None)
        self.hooks.server_changed(name, False)
        if forget:
            self.broadcast_list_changed(self.catalog.remove_server(name))

    def upstream_closed(self, upstream: Upstream, reason: str) -> None:
        return None  # the supervisor restarts it; pending calls were already failed

    async def refresh(self, upstream: Upstream, kinds: tuple[str, ...]) -> None:
        await upstream.refresh_lists(kinds)
        if self.upstreams.get(upstream.name) is upstream:
            self.broadcast_list_changed(
                self.catalog.set_server(
                    upstream.name, self._prefixes.get(upstream.name, upstream.name), upstream.lists
                )
            )

    # -- client messages -----------------------------------------------------------------------

    async def handle(self, ctx: ClientContext, msg: Message) -> Reply:  # noqa: PLR0911 (a dispatcher)
        """One validated client message; never raises for anything a client can send."""
        kind = kind_of(msg)
        if kind is Kind.NOTIFICATION:
            return self._client_notification(ctx, msg)
        if kind is Kind.RESPONSE:
            return self.client_response(ctx, msg)
        method = msg["method"]
        if ctx.era is Era.MODERN and method in LEGACY_ONLY_METHODS:
            return Immediate(
                error(
                    msg["id"], codes.METHOD_NOT_FOUND, f"Method not found: {method} is not part of 2026-07-28"
                )
            )
        handler = self._handlers.get(method)
        if handler is not None:
            return await handler(self, ctx, msg)
        if method in _LISTS:
            return self._list(ctx, msg)
        if self.bridge is not None:
            return await self._forward(ctx, msg, self.bridge, method, params_of(msg))
        return Immediate(error(msg["id"], codes.METHOD_NOT_FOUND, f"Method not found: {method}"))

    def open_session(
        self, ctx: ClientContext, msg: Message, existing: LegacySession | None = None
    ) -> Immediate:
        """Answer `initialize`: a legacy session, in the version the client asked for if we speak it.

        The 2024-11-05 HTTP+SSE transport creates its session when the stream opens, before
        initialize; it passes that session as `existing`.
        """
        params = params_of(msg)
        version = negotiate_legacy(params.get("protocolVersion"))
        capabilities = params.get("capabilities")
        client_info = params.get("clientInfo")
        session = existing or LegacySession(
            id=new_session_id(), protocol_version=version, capabilities={}, client_info={}
        )
        session.protocol_version = version
        session.capabilities = capabilities if isinstance(capabilities, dict) else {}
        session.client_info = client_info if isinstance(client_info, dict) else {}
        session.principal = ctx.principal
        if existing is None:
            self.sessions.add(session)
        body = {
            "protocolVersion": version,
            "capabilities": self.capabilities(),
            "serverInfo": self.server_info(),
        }
        instructions = self.instructions()
        if instructions:
            body["instructions"] = instructions
        return Immediate(result(msg["id"], body), session=session)

    async def close_session(self, session: LegacySession) -> None:
        """DELETE, expiry or shutdown: cancel its calls, close its streams, stop its own children."""
        self.sessions.remove(session.id)
        for call in list(session.calls.values()):
            self.cancel(call, "the session ended")
        for pending in session.client_requests.values():
            if isinstance(pending, asyncio.Future):
                pending.cancel()  # a relayed request for input nobody will answer now
        session.outbox.close()
        self.drop_session_subscriptions(session)
        await self._end_session(session.id)

    # -- what the gateway says about itself ----------------------------------------------------

    def capabilities(self) -> dict[str, Any]:
        if self.bridge is not None:
            upstream = self.upstreams.get(self.bridge)
            if upstream is not None:
                caps = dict(upstream.capabilities)
                caps.setdefault("logging", {})
                return caps
        return {
            "tools": {"listChanged": True},
            "prompts": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": True},
            "logging": {},
            "completions": {},
        }

    def server_info(self) -> dict[str, Any]:
        if self.bridge is not None:
            upstream = self.upstreams.get(self.bridge)
            if upstream is not None and upstream.server_info:
                return upstream.server_info
        return {"name": "mcpctl", "title": "mcpctl gateway", "version": __version__}

    def instructions(self) -> str:
        parts = []
        for name, upstream in self.upstreams.items():
            if upstream.instructions:
                parts.append(upstream.instructions if self.bridge else f"## {name}\n{upstream.instructions}")
        return "\n\n".join(parts)

    # -- handlers ------------------------------------------------------------------------------

    async def _initialize(self, ctx: ClientContext, msg: Message) -> Reply:
        return self.open_session(ctx, msg)

    async def _ping(self, ctx: ClientContext, msg: Message) -> Reply:
        return Immediate(result(msg["id"], self._complete(ctx, {})))

    async def _set_level(self, ctx: ClientContext, msg: Message) -> Reply:
        level = params_of(msg).get("level")
        if level not in LOG_LEVELS:
            return Immediate(
                error(msg["id"], codes.INVALID_PARAMS, f"level must be one of {', '.join(LOG_LEVELS)}")
            )
        if ctx.session is not None:
            ctx.session.log_level = str(level)
        self.apply_log_level(str(level))
        return Immediate(result(msg["id"], {}))

    async def _discover(self, ctx: ClientContext, msg: Message) -> Reply:
        body = {
            "resultType": "complete",
            "supportedVersions": list(ALL_VERSIONS),
            "capabilities": self.capabilities(),
            "_meta": {META_SERVER_INFO: self.server_info()},
            "ttlMs": LIST_TTL_MS,
            "cacheScope": self._cache_scope,
        }
        instructions = self.instructions()
        if instructions:
            body["instructions"] = instructions
        return Immediate(result(msg["id"], body))

    def _list(self, ctx: ClientContext, msg: Message) -> Reply:
        kind, key = _LISTS[msg["method"]]
        entries = self.catalog.view(kind)
        if kind in ("tools", "prompts"):
            entries = [e for e in entries if self.hooks.visible(ctx, kind, e["name"])]
        try:
            page, next_cursor = paginate(kind, entries, params_of(msg).get("cursor"), self._page_size)
        except InvalidCursor as exc:
            return Immediate(error(msg["id"], codes.INVALID_PARAMS, f"Invalid cursor: {exc}"))
        body: dict[str, Any] = {key: page}
        if next_cursor is not None:
            body["nextCursor"] = next_cursor
        if ctx.era is Era.MODERN:
            body.update(resultType="complete", ttlMs=LIST_TTL_MS, cacheScope=self._cache_scope)
        return Immediate(result(msg["id"], body))

    async def _by_name(self, ctx: ClientContext, msg: Message) -> Reply:
        """tools/call and prompts/get: to the server behind the exposed name, under its own name."""
        method = msg["method"]
        thing, route_of = _NAMED[method]
        params = params_of(msg)
        name = params.get("name")
        if not isinstance(name, str):
            return Immediate(error(msg["id"], codes.INVALID_PARAMS, f"{method} needs params.name (a string)"))
        route = route_of(self.catalog, name)
        # A tool or prompt hidden from this caller is refused by `admit` (in _forward), which says
        # why (FORBIDDEN).
        if route is None:
            return self._refuse(ctx, msg, "", name, codes.INVALID_PARAMS, f"Unknown {thing}: {name}")
        return await self._forward(ctx, msg, route.server, name, {**params, "name": route.original})

    async def _by_uri(self, ctx: ClientContext, msg: Message) -> Reply:
        params = params_of(msg)
        uri = params.get("uri")
        if not isinstance(uri, str):
            return Immediate(
                error(msg["id"], codes.INVALID_PARAMS, f"{msg['method']} needs params.uri (a string)")
            )
        server = self.resource_owner(uri)
        if server is None:
            return self._refuse(
                ctx, msg, "", uri, codes.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri}
            )
        return await self._forward(ctx, msg, server, uri, params)

    async def _subscribe(self, ctx: ClientContext, msg: Message) -> Reply:
        uri = params_of(msg).get("uri")
        if ctx.session is None or not isinstance(uri, str):
            return Immediate(
                error(msg["id"], codes.INVALID_PARAMS, "resources/subscribe needs params.uri and a session")
            )
        server = self.resource_owner(uri)
        if server is None:
            return Immediate(
                error(msg["id"], codes.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})
            )
        if msg["method"] == "resources/subscribe":
            ctx.session.subscriptions.add(uri)
        else:
            ctx.session.subscriptions.discard(uri)
        self.sync_backend_subscription(server, uri)
        return Immediate(result(msg["id"], {}))

    async def _complete_request(self, ctx: ClientContext, msg: Message) -> Reply:
        params = params_of(msg)
        ref = params.get("ref")
        ref = ref if isinstance(ref, dict) else {}
        if ref.get("type") == "ref/prompt" and isinstance(ref.get("name"), str):
            route = self.catalog.route_prompt(ref["name"])
            if route is None:
                return Immediate(error(msg["id"], codes.INVALID_PARAMS, f"Unknown prompt: {ref['name']}"))
            return await self._forward(
                ctx, msg, route.server, ref["name"], {**params, "ref": {**ref, "name": route.original}}
            )
        if ref.get("type") == "ref/resource" and isinstance(ref.get("uri"), str):
            server = self.resource_owner(ref["uri"])
            if server is None:
                return Immediate(error(msg["id"], codes.INVALID_PARAMS, f"Resource not found: {ref['uri']}"))
            return await self._forward(ctx, msg, server, ref["uri"], params)
        return Immediate(
            error(msg["id"], codes.INVALID_PARAMS, "completion/complete needs a ref/prompt or ref/resource")
        )

    async def _listen(self, ctx: ClientContext, msg: Message) -> Reply:
        if ctx.era is not Era.MODERN:
            return Immediate(
                error(msg["id"], codes.METHOD_NOT_FOUND, "subscriptions/listen is part of 2026-07-28")
            )
        wanted = params_of(msg).get("notifications")
        wanted = wanted if isinstance(wanted, dict) else {}
        uris = wanted.get("resourceSubscriptions")
        listener = Listener(
            request_id=msg["id"],
            ctx=ctx,
            tools=wanted.get("toolsListChanged") is True,
            prompts=wanted.get("promptsListChanged") is True,
            resources=wanted.get("resourcesListChanged") is True,
            uris=frozenset(u for u in uris if isinstance(u, str)) if isinstance(uris, list) else frozenset(),
        )
        self.add_listener(listener)
        ack = {
            "jsonrpc": "2.0",
            "method": "notifications/subscriptions/acknowledged",
            "params": {
                "_meta": {META_SUBSCRIPTION_ID: msg["id"]},
                "notifications": listener.accepted_filter(),
            },
        }
        return Listening(listener, ack)

    _handlers: ClassVar[dict[str, Callable[[Gateway, ClientContext, Message], Awaitable[Reply]]]] = {
        "initialize": _initialize,
        "ping": _ping,
        "logging/setLevel": _set_level,
        "server/discover": _discover,
        "tools/call": _by_name,
        "prompts/get": _by_name,
        "resources/read": _by_uri,
        "resources/subscribe": _subscribe,
        "resources/unsubscribe": _subscribe,
        "completion/complete": _complete_request,
        "subscriptions/listen": _listen,
    }

    # -- forwarding ----------------------------------------------------------------------------

    async def _forward(
        self, ctx: ClientContext, msg: Message, server: str, name: str, params: dict[str, Any]
    ) -> Reply:
        refusal = self.hooks.admit(ctx, msg["method"], server, name, params_of(msg))
        if refusal is not None:
            self.hooks.refused(ctx, msg["method"], server, name, params_of(msg), refusal)
            return Immediate({"jsonrpc": "2.0", "id": msg["id"], "error": refusal})
        meta = params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        call = Call(ctx, msg["id"], msg["method"], server, name, token, params_of(msg))
        try:
            upstream = await self._upstream_for(server, ctx.session.id if ctx.session else None)
            upstream.forward(
                call, request_for_backend(msg, ctx, upstream.era, upstream.protocol_version, params)
            )
        except UnavailableError as exc:
            failure = error(msg["id"], exc.jsonrpc_code, exc.message)
            self.hooks.finished(call, failure, "unavailable")
            return Immediate(failure)
        if ctx.session is not None:
            ctx.session.calls[msg["id"]] = call
        return Forwarded(call)

    async def stream(self, call: Call) -> AsyncGenerator[tuple[Message, bool], None]:
        """What the client receives for a forwarded call: interim messages, then the response.

        The call times out after the server's `call_timeout` without a response or progress, and
        after `max_call_timeout` in any case; a timed-out call is cancelled at the backend and
        answered with an error. Only progress notifications (and a server->client request, which
        leaves the backend waiting on the client) reset the idle clock: a server that keeps
        logging but never progresses is as stuck as a silent one.
        """
        idle, total = self._call_timeouts.get(call.server, (60.0, 600.0))
        deadline = call.started + total
        idle_deadline = call.started + idle
        final: Message = {}
        outcome = "cancelled"  # unless we get to the end: the client went away mid-call
        rounds = 0
        try:
            while True:
                item = await call.next(max(min(idle_deadline, deadline) - time.monotonic(), 0.0))
                if item is None:
                    idled = idle_deadline < deadline
                    limit = f"{idle:g}s without progress" if idled else f"{total:g}s in total"
                    self.cancel(call, "timed out")
                    final = error(
                        call.client_id,
                        codes.BACKEND_TIMEOUT,
                        f"server {call.server!r} did not answer within {limit}",
                    )
                    outcome = "timeout"
                    yield final, True
                    return
                msg, done = item
                if done and needs_relay(call, msg) and rounds < MAX_ROUNDS:
                    rounds += 1
                    try:
                        async for request in relay(call, msg, idle):
                            yield request, False
                        idle_deadline = time.monotonic() + idle  # the call went back to the backend
                        continue
                    except (RelayFailed, UnavailableError) as exc:
                        err = (
                            exc.error
                            if isinstance(exc, RelayFailed)
                            else {"code": exc.jsonrpc_code, "message": exc.message}
                        )
                        msg = {"jsonrpc": "2.0", "id": call.backend_id, "error": err}
                if done:
                    final = response_for_client(call, msg)
                    outcome = _outcome(final)
                    yield final, True
                    return
                if msg.get("method") == "notifications/progress" or "id" in msg:
                    idle_deadline = time.monotonic() + idle
                interim = interim_for_client(call, msg)
                if interim is not None:
                    yield interim, False
        finally:
            if call.ctx is not None and call.ctx.session is not None:
                call.ctx.session.calls.pop(call.client_id, None)  # type: ignore[arg-type]
            self.hooks.finished(call, final, outcome)

    def cancel(self, call: Call, reason: str) -> None:
        """The client went away or asked to cancel: tell the backend, stop waiting."""
        if call.upstream is not None:
            call.upstream.cancel(call, reason)
        call.finish(error(call.client_id, codes.INTERNAL_ERROR, f"cancelled: {reason}"))

    # -- notifications and responses from clients ---------------------------------------------

    def _client_notification(self, ctx: ClientContext, msg: Message) -> Reply:
        method = msg["method"]
        session = ctx.session
        if method == "notifications/cancelled" and session is not None:
            request_id = params_of(msg).get("requestId")
            call = session.calls.get(request_id) if isinstance(request_id, str | int) else None
            if call is not None:
                reason = params_of(msg).get("reason")
                self.cancel(call, reason if isinstance(reason, str) else "cancelled by the client")
        elif method == "notifications/roots/list_changed" and session is not None:
            self.forward_roots_changed(session)
        return Accepted()

    def _refuse(
        self, ctx: ClientContext, msg: Message, server: str, name: str, code: int, text: str, data: Any = None
    ) -> Immediate:
        """An error for a call that never reaches a backend; the hooks (audit) still see it."""
        err: dict[str, object] = {"code": code, "message": text}
        if data is not None:
            err["data"] = data
        self.hooks.refused(ctx, msg["method"], server, name, params_of(msg), err)
        return Immediate({"jsonrpc": "2.0", "id": msg["id"], "error": err})

    @staticmethod
    def _complete(ctx: ClientContext, body: dict[str, Any]) -> dict[str, Any]:
        if ctx.era is Era.MODERN:
            body["resultType"] = "complete"
        return body


def _outcome(msg: Message) -> str:
    err = msg.get("error")
    if isinstance(err, dict):
        if err.get("code") == codes.BACKEND_UNAVAILABLE:
            return "unavailable"  # the transport failed mid-call (the child died, the URL went away)
        if err.get("code") == codes.INTERNAL_ERROR and str(err.get("message", "")).startswith("cancelled: "):
            return "cancelled"  # what `cancel` answers for a call the client cancelled or left
        return "error"
    if "error" in msg:
        return "error"
    res = msg.get("result")
    if isinstance(res, dict) and res.get("isError") is True:
        return "tool_error"
    return "ok"


__all__ = ["LIST_KINDS", "Gateway"]
