"""What backends send outside of responses, delivered to the clients it concerns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from mcpctl.gateway.adapt import wants_log
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.replies import Accepted, Listener, Reply
from mcpctl.gateway.sessions import LegacySession, SessionStore
from mcpctl.gateway.upstream import Upstream
from mcpctl.protocol import codes
from mcpctl.protocol.catalog import LIST_CHANGED, Catalog
from mcpctl.protocol.eras import META_SUBSCRIPTION_ID, Era, log_level_rank
from mcpctl.protocol.jsonrpc import Message, notification, params_of

log = logging.getLogger(__name__)

_CHANGED_KINDS: dict[str, tuple[str, ...]] = {
    "notifications/tools/list_changed": ("tools",),
    "notifications/prompts/list_changed": ("prompts",),
    "notifications/resources/list_changed": ("resources", "resourceTemplates"),
}
_CAPABILITY_FOR = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}


class Fanout:
    """Server-initiated traffic: list changes, resource updates, logs, and server->client requests."""

    catalog: Catalog
    upstreams: dict[str, Upstream]
    bridge: str | None

    def __init__(self, sessions: SessionStore) -> None:
        self.sessions = sessions
        self.listeners: set[Listener] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refreshing: set[str] = set()
        self._stale: set[str] = set()
        self._backend_subscriptions: dict[str, set[str]] = {}
        self._backend_log_level: str | None = None

    async def refresh(self, upstream: Upstream, kinds: tuple[str, ...]) -> None:
        raise NotImplementedError

    # -- list changes --------------------------------------------------------------------------

    def broadcast_list_changed(self, kinds: set[str]) -> None:
        """Tell every client whose view changed: legacy sessions, and listeners that opted in."""
        for method in sorted({LIST_CHANGED[kind] for kind in kinds}):
            note = notification(method)
            for session in self.sessions.all():
                session.outbox.put(note)
            for listener in self.listeners:
                wanted = {
                    "notifications/tools/list_changed": listener.tools,
                    "notifications/prompts/list_changed": listener.prompts,
                    "notifications/resources/list_changed": listener.resources,
                }[method]
                if wanted:
                    listener.outbox.put(
                        notification(method, {"_meta": {META_SUBSCRIPTION_ID: listener.request_id}})
                    )

    # -- UpstreamEvents ------------------------------------------------------------------------

    def upstream_notification(self, upstream: Upstream, msg: Message) -> None:
        method = msg["method"]
        kinds = _CHANGED_KINDS.get(method)
        if kinds is not None:
            self._schedule_refresh(upstream, kinds)
        elif method == "notifications/resources/updated":
            self._resource_updated(upstream, msg)
        elif method == "notifications/message":
            self._log_message(upstream, msg)
        elif method == "notifications/cancelled":
            self._backend_cancelled(upstream, msg)
        elif self.bridge is not None:
            for session in self._sessions_of(upstream):
                session.outbox.put(msg)  # a transparent bridge passes on what it does not know

    def upstream_request(self, upstream: Upstream, msg: Message) -> None:
        """A server->client request from a legacy backend: route it to a client that can answer."""
        method = msg["method"]
        if method == "ping":
            upstream.respond(msg["id"], result={})
            return
        capability = _CAPABILITY_FOR.get(method)
        session, call = self._route_request(upstream, capability)
        if session is None:
            upstream.respond(
                msg["id"], error={"code": codes.NO_ROUTE, "message": self._no_route(upstream, method)}
            )
            return
        our_id = session.next_client_request_id()
        session.client_requests[our_id] = (upstream, msg["id"], call)
        out = {**msg, "id": our_id}
        if call is not None:
            call.asking += 1
            call.push(out)  # on the stream of the request it belongs to
        else:
            session.outbox.put(out)

    def client_response(self, ctx: ClientContext, msg: Message) -> Reply:
        """The client's answer to a server->client request: back to the backend that asked."""
        session = ctx.session
        entry = session.client_requests.pop(msg["id"], None) if session is not None else None
        if isinstance(entry, asyncio.Future):
            if not entry.done():
                entry.set_result(msg)
        elif entry is not None:
            upstream, backend_id, call = entry
            if call is not None:
                call.asking -= 1
            err = msg.get("error")
            if err is not None:
                upstream.respond(
                    backend_id,
                    error=err
                    if isinstance(err, dict)
                    else {"code": codes.INTERNAL_ERROR, "message": "error"},
                )
            else:
                res = msg.get("result")
                upstream.respond(backend_id, result=res if isinstance(res, dict) else {})
        return Accepted()

    def _route_request(self, upstream: Upstream, capability: str | None) -> tuple[LegacySession | None, Any]:
        # A legacy stdio child does not say which call a server->client request belongs to. The
        # best guess: the oldest capable call not already waiting on its client (tools usually
        # ask one thing at a time). Exact for per-session children and for modern children,
        # whose requests for input come back inside their own call's result.
        capable = [
            call
            for call in upstream.in_flight()
            if call.ctx is not None
            and call.ctx.session is not None
            and call.ctx.era is Era.LEGACY
            and (capability is None or call.ctx.can(capability))
        ]
        if capable:
            call = next((c for c in capable if c.asking == 0), capable[0])
            assert call.ctx is not None
            return call.ctx.session, call
        if upstream.owner is not None:
            owner = self.sessions.get(upstream.owner)
            if owner is not None and (
                capability is None or isinstance(owner.capabilities.get(capability), dict)
            ):
                return owner, None
        return None, None

    def _no_route(self, upstream: Upstream, method: str) -> str:
        modern = [c for c in upstream.in_flight() if c.ctx is not None and c.ctx.era is Era.MODERN]
        if modern:
            return (
                f"{method}: the calling client speaks 2026-07-28, which has no server->client requests, and "
                "mcpctl does not yet bridge them to multi round-trip requests"
            )
        return f"{method}: no connected client declared the capability to answer it"

    # -- resources and logs --------------------------------------------------------------------

    def _resource_updated(self, upstream: Upstream, msg: Message) -> None:
        uri = params_of(msg).get("uri")
        if not isinstance(uri, str):
            return
        clean = {**msg, "params": {k: v for k, v in params_of(msg).items() if k != "_meta"}}
        for session in self._sessions_of(upstream):
            if uri in session.subscriptions:
                session.outbox.put(clean)
        for listener in self.listeners:
            if uri in listener.uris:
                params = {**clean["params"], "_meta": {META_SUBSCRIPTION_ID: listener.request_id}}
                listener.outbox.put({**clean, "params": params})

    def _log_message(self, upstream: Upstream, msg: Message) -> None:
        calls = upstream.in_flight()
        if len(calls) == 1:
            calls[0].push(msg)  # the only request it can belong to
            return
        for session in self._sessions_of(upstream):
            if session.log_level is not None and wants_log(ClientContext.for_session(session), msg):
                session.outbox.put(msg)

    def _backend_cancelled(self, upstream: Upstream, msg: Message) -> None:
        backend_id = params_of(msg).get("requestId")
        for session in self._sessions_of(upstream):
            for our_id, entry in list(session.client_requests.items()):
                if isinstance(entry, tuple) and entry[0] is upstream and entry[1] == backend_id:
                    if entry[2] is not None:
                        entry[2].asking -= 1
                    del session.client_requests[our_id]
                    session.outbox.put(
                        notification("notifications/cancelled", {**params_of(msg), "requestId": our_id})
                    )

    def _sessions_of(self, upstream: Upstream) -> list[LegacySession]:
        if upstream.owner is not None:
            owner = self.sessions.get(upstream.owner)
            return [owner] if owner is not None else []
        return self.sessions.all()

    # -- keeping backends in step with what clients asked for ----------------------------------

    def resource_owner(self, uri: str) -> str | None:
        """The server a resource URI belongs to (in a bridge, the one server)."""
        return self.bridge or self.catalog.route_resource(uri)

    def add_listener(self, listener: Listener) -> None:
        self.listeners.add(listener)
        self._resync(listener.uris)

    def remove_listener(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        listener.outbox.close()
        self._resync(listener.uris)

    def drop_session_subscriptions(self, session: LegacySession) -> None:
        uris, session.subscriptions = session.subscriptions, set()
        self._resync(uris)

    def _resync(self, uris: Iterable[str]) -> None:
        for uri in uris:
            server = self.resource_owner(uri)
            if server is not None:
                self.sync_backend_subscription(server, uri)

    def sync_backend_subscription(self, server: str, uri: str) -> None:
        """Subscribe the backend to `uri` while any client wants it; unsubscribe when none does."""
        wanted = any(uri in s.subscriptions for s in self.sessions.all()) or any(
            uri in listener.uris for listener in self.listeners
        )
        current = self._backend_subscriptions.setdefault(server, set())
        if wanted == (uri in current):
            return
        if wanted:
            current.add(uri)
        else:
            current.discard(uri)
        upstream = self.upstreams.get(server)
        if upstream is not None:
            self._apply_subscription(upstream, uri, wanted)

    def restore_subscriptions(self, server: str, upstream: Upstream) -> None:
        """After a (re)start: the new child knows nothing of what clients subscribed to."""
        uris = self._backend_subscriptions.get(server, set())
        if upstream.era is Era.MODERN:
            if uris:
                upstream.listen_for_changes(frozenset(uris))
        else:
            for uri in uris:
                self._apply_subscription(upstream, uri, True)
            if self._backend_log_level is not None and "logging" in upstream.capabilities:
                self._spawn(upstream.request("logging/setLevel", {"level": self._backend_log_level}))

    def _apply_subscription(self, upstream: Upstream, uri: str, wanted: bool) -> None:
        if upstream.era is Era.MODERN:
            upstream.listen_for_changes(frozenset(self._backend_subscriptions.get(upstream.name, set())))
            return
        method = "resources/subscribe" if wanted else "resources/unsubscribe"
        self._spawn(upstream.request(method, {"uri": uri}))

    def apply_log_level(self, level: str) -> None:
        """Legacy backends log globally: set them to the most verbose level any session asked for."""
        levels = [s.log_level for s in self.sessions.all() if s.log_level] + [level]
        lowest = min(levels, key=log_level_rank)
        if lowest == self._backend_log_level:
            return
        self._backend_log_level = lowest
        for upstream in self.upstreams.values():
            if upstream.era is Era.LEGACY and "logging" in upstream.capabilities:
                self._spawn(upstream.request("logging/setLevel", {"level": lowest}))

    def forward_roots_changed(self, session: LegacySession) -> None:
        for upstream in self.upstreams.values():
            if upstream.owner == session.id:
                upstream.notify("notifications/roots/list_changed")

    # -- background work -----------------------------------------------------------------------

    def _schedule_refresh(self, upstream: Upstream, kinds: tuple[str, ...]) -> None:
        key = f"{upstream.name}:{','.join(kinds)}"
        if key in self._refreshing:
            self._stale.add(key)  # a burst of list_changed costs at most one more re-list
            return
        self._refreshing.add(key)

        async def run() -> None:
            try:
                while True:
                    self._stale.discard(key)
                    await self.refresh(upstream, kinds)
                    if key not in self._stale or upstream.closed:
                        break
            finally:
                self._refreshing.discard(key)

        self._spawn(run())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background request failed: %s", task.exception())
