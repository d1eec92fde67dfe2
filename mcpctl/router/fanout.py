"""Server-initiated traffic to the clients it concerns, and backends kept in step with what clients want."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mcpctl.protocol.catalog import LIST_CHANGED
from mcpctl.protocol.eras import LEGACY, META_SUBSCRIPTION_ID, MODERN, log_level_rank, modern_meta
from mcpctl.protocol.jsonrpc import Message, notification, params_of, request
from mcpctl.router.actions import (
    Action,
    Broadcast,
    PostToListener,
    PostToSession,
    SendToBackend,
    StreamToClient,
    SubscribeElsewhere,
    UpdateElsewhere,
)
from mcpctl.router.adapt import wants_log
from mcpctl.router.context import ClientContext
from mcpctl.router.links import Link
from mcpctl.router.servers import ServerSlot
from mcpctl.router.sessions import LegacySession, SessionRegistry
from mcpctl.router.streams import Listener

_LISTEN_FLAGS = (
    ("tools", "toolsListChanged"),
    ("prompts", "promptsListChanged"),
    ("resources", "resourcesListChanged"),
)


class Fanout:
    """List changes, resource updates and logs to clients; subscriptions and log levels to backends."""

    def __init__(
        self,
        out: list[Action],
        sessions: SessionRegistry,
        servers: dict[str, ServerSlot],
        owner_of: Callable[[str], str | None],
        client_info: dict[str, Any],
    ) -> None:
        self._out = out
        self._sessions = sessions
        self._servers = servers
        self._owner_of = owner_of  # the server a resource URI belongs to
        self._client_info = client_info  # how the gateway introduces itself in modern requests
        self.listeners: dict[Listener, None] = {}  # in the order they opened
        # in a fleet: a digest of the new view of some kinds (set by the router)
        self.fleet_digest: Callable[[list[str]], str] | None = None
        self._backend_log_level: str | None = None

    # -- to clients ----------------------------------------------------------------------------

    def list_changed(self, kinds: Iterable[str]) -> None:
        """Tell every client whose view changed: legacy sessions, and listeners that opted in.

        In a fleet, sessions may be served anywhere: one Broadcast, with a digest of the new view,
        reaches every session's stream once, however many instances saw the same change.
        """
        kinds = set(kinds)
        for method in sorted({LIST_CHANGED[kind] for kind in kinds}):
            note = notification(method)
            if self.fleet_digest is not None:
                digest = self.fleet_digest(sorted(k for k in kinds if LIST_CHANGED[k] == method))
                self._out.append(Broadcast(note, digest))
            for session in self._sessions:
                if self.fleet_digest is None or session.transport == "sse":
                    self._out.append(PostToSession(session, note))
            for listener in self.listeners:
                if listener.wants(method):
                    meta = {"_meta": {META_SUBSCRIPTION_ID: listener.request_id}}
                    self._out.append(PostToListener(listener, notification(method, meta)))

    def resource_updated(self, link: Link | None, msg: Message) -> None:
        """A backend's resources/updated (`link` None: from the instance of the fleet that runs it)."""
        uri = params_of(msg).get("uri")
        if not isinstance(uri, str):
            return
        clean = {**msg, "params": {k: v for k, v in params_of(msg).items() if k != "_meta"}}
        slot = self._servers.get(link.server) if link is not None else None
        watching = slot.remote_subscriptions.get(uri) if slot is not None else None
        if watching:  # other instances' clients watch it too
            self._out.append(UpdateElsewhere(tuple(sorted(watching)), clean))
        for session in self.sessions_of(link) if link is not None else list(self._sessions):
            if uri in session.subscriptions:
                self._out.append(PostToSession(session, clean))
        for listener in self.listeners:
            if uri in listener.uris:
                params = {**clean["params"], "_meta": {META_SUBSCRIPTION_ID: listener.request_id}}
                self._out.append(PostToListener(listener, {**clean, "params": params}))

    def log_message(self, link: Link, msg: Message) -> None:
        calls = link.in_flight()
        if len(calls) == 1:  # the only request it can belong to
            if wants_log(calls[0].ctx, msg):
                self._out.append(StreamToClient(calls[0], msg, False))
            return
        for session in self.sessions_of(link):
            if session.log_level is not None and wants_log(ClientContext.for_session(session), msg):
                self._out.append(PostToSession(session, msg))

    def pass_on(self, link: Link, msg: Message) -> None:
        """A transparent bridge passes on what it does not know."""
        for session in self.sessions_of(link):
            self._out.append(PostToSession(session, msg))

    def sessions_of(self, link: Link) -> list[LegacySession]:
        if link.owner is not None:
            owner = self._sessions.peek(link.owner)
            return [owner] if owner is not None else []
        return list(self._sessions)

    # -- keeping backends in step with what clients asked for ----------------------------------

    def add_listener(self, listener: Listener) -> None:
        self.listeners[listener] = None
        self.resync(listener.uris)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self.listeners:
            del self.listeners[listener]
            self.resync(listener.uris)

    def drop_session_subscriptions(self, session: LegacySession) -> None:
        uris, session.subscriptions = session.subscriptions, set()
        self.resync(uris)

    def resync(self, uris: Iterable[str]) -> None:
        for uri in uris:
            server = self._owner_of(uri)
            if server is not None:
                self.sync_backend_subscription(server, uri)

    def sync_backend_subscription(self, server: str, uri: str) -> None:
        """Subscribe the backend to `uri` while any client wants it; unsubscribe when none does."""
        wanted = any(uri in s.subscriptions for s in self._sessions) or any(
            uri in listener.uris for listener in self.listeners
        )
        slot = self._servers.get(server)
        if slot is None:
            return
        if slot.runs_on is None and slot.remote_subscriptions.get(uri):
            wanted = True  # clients of other instances watch it through this one
        if wanted == (uri in slot.subscriptions):
            return
        if wanted:
            slot.subscriptions.add(uri)
        else:
            slot.subscriptions.discard(uri)
        if slot.runs_on is not None:
            self._out.append(SubscribeElsewhere(slot.runs_on, server, uri, wanted))
        elif slot.shared is not None:
            self._apply_subscription(slot, slot.shared, uri, wanted)

    def subscribe_for(self, server: str, uri: str, instance: str, wanted: bool) -> None:
        """In a fleet: another instance's clients want (or no longer want) `uri` of a server run here."""
        slot = self._servers.get(server)
        if slot is None:
            return
        watching = slot.remote_subscriptions.setdefault(uri, set())
        if wanted:
            watching.add(instance)
        else:
            watching.discard(instance)
            if not watching:
                del slot.remote_subscriptions[uri]
        self.sync_backend_subscription(server, uri)

    def moved(self, slot: ServerSlot) -> None:
        """A placed server moved to another instance (or here): tell the one that runs it now what
        clients here watch (its child knows nothing of it), and forget what others asked of us."""
        remote, slot.remote_subscriptions = slot.remote_subscriptions, {}
        for uri in remote:
            self.sync_backend_subscription(slot.name, uri)
        if slot.runs_on is not None:
            for uri in sorted(slot.subscriptions):
                self._out.append(SubscribeElsewhere(slot.runs_on, slot.name, uri, True))

    def restore(self, slot: ServerSlot, link: Link) -> None:
        """After a (re)start: the new child knows nothing of what clients subscribed to."""
        if link.era is MODERN:
            self.listen(link, frozenset(slot.subscriptions))
            return
        for uri in slot.subscriptions:
            self._apply_subscription(slot, link, uri, True)
        if self._backend_log_level is not None and "logging" in link.capabilities:
            self.ask_backend(link, "logging/setLevel", {"level": self._backend_log_level})

    def apply_log_level(self, level: str) -> None:
        """Legacy backends log globally: set them to the most verbose level any session asked for."""
        levels = [s.log_level for s in self._sessions if s.log_level] + [level]
        lowest = min(levels, key=log_level_rank)
        if lowest == self._backend_log_level:
            return
        self._backend_log_level = lowest
        for slot in self._servers.values():
            link = slot.shared
            if link is not None and link.era is LEGACY and "logging" in link.capabilities:
                self.ask_backend(link, "logging/setLevel", {"level": lowest})

    def listen(self, link: Link, uris: frozenset[str]) -> None:
        """Modern backends: (re)open one subscriptions/listen for list changes and resource updates."""
        link.listen_uris = uris
        if link.closed:
            return
        if link.listen_id is not None:
            self._close_listen(link)
        wanted: dict[str, Any] = {}
        for capability, flag in _LISTEN_FLAGS:
            declared = link.capabilities.get(capability)
            if isinstance(declared, dict) and declared.get("listChanged"):
                wanted[flag] = True
        resources = link.capabilities.get("resources")
        if uris and isinstance(resources, dict) and resources.get("subscribe"):
            wanted["resourceSubscriptions"] = sorted(uris)
        if wanted:
            link.listen_id = self.ask_backend(link, "subscriptions/listen", {"notifications": wanted})

    def listen_closed(self, link: Link, msg: Message) -> bool:
        """Whether `msg` is the backend ending our listen (a cancellation naming it)."""
        if link.listen_id is None or msg.get("method") != "notifications/cancelled":
            return False
        params = params_of(msg)
        meta = params.get("_meta")
        subscription = meta.get(META_SUBSCRIPTION_ID) if isinstance(meta, dict) else None
        if link.listen_id in (subscription, params.get("requestId")):
            link.internal.pop(link.listen_id, None)
            link.listen_id = None
            return True
        return False

    def ask_backend(self, link: Link, method: str, params: dict[str, Any]) -> int:
        """A request of the router's own (subscriptions, log level, listen); its answer is only checked."""
        request_id = link.new_id()
        link.internal[request_id] = method
        if link.era is MODERN:
            params = {
                **params,
                "_meta": modern_meta(link.description.protocol_version, self._client_info, {}),
            }
        self._out.append(SendToBackend(link, request(request_id, method, params)))
        return request_id

    def _apply_subscription(self, slot: ServerSlot, link: Link, uri: str, wanted: bool) -> None:
        if link.era is MODERN:
            self.listen(link, frozenset(slot.subscriptions))
            return
        self.ask_backend(link, "resources/subscribe" if wanted else "resources/unsubscribe", {"uri": uri})

    def _close_listen(self, link: Link) -> None:
        assert link.listen_id is not None
        link.internal.pop(link.listen_id, None)
        params = {"requestId": link.listen_id, "reason": "subscription filter changed"}
        self._out.append(SendToBackend(link, notification("notifications/cancelled", params)))
        link.listen_id = None
