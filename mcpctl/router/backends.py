"""The router's backend side: servers and links coming and going, and what their backends send."""

from __future__ import annotations

from collections.abc import Callable

from mcpctl.protocol.catalog import Catalog, Lists
from mcpctl.protocol.handshake import ServerDescription
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.actions import Action, RefreshLists, Warn
from mcpctl.router.fanout import Fanout
from mcpctl.router.forward import Forwarder
from mcpctl.router.hooks import CallHooks
from mcpctl.router.inbound import BackendInbound
from mcpctl.router.links import Link
from mcpctl.router.servers import ServerSlot, State


class BackendSide:
    """Fed by the supervisor (states, links up) and the connections (messages, closes)."""

    def __init__(
        self,
        out: list[Action],
        servers: dict[str, ServerSlot],
        catalog: Catalog,
        calls: Forwarder,
        fanout: Fanout,
        inbound: BackendInbound,
        hooks: CallHooks,
        on_change: Callable[[float], None],
    ) -> None:
        self._out = out
        self._servers = servers
        self._catalog = catalog
        self._calls = calls
        self._fanout = fanout
        self._inbound = inbound
        self._hooks = hooks
        self._on_change = on_change  # a server came up or gave up: requests waiting for one may go

    def server_state(
        self, name: str, state: State, now: float, reason: str = "", retry_at: float | None = None
    ) -> None:
        """What the supervisor says about a server that is not (or no longer) ready."""
        self._calls.now = now
        slot = self._servers[name]
        if slot.runs_on is not None:
            return  # about a child of ours another instance has replaced: its end changes nothing here
        slot.state, slot.reason, slot.retry_at = state, reason, retry_at
        if state in ("crash-loop", "stopped"):
            parked, slot.parked = slot.parked, []
            self._calls.release(parked, None, now, slot.unavailable(now))
            self._fanout.list_changed(self._catalog.remove_server(name))
        self._hooks.server_changed(name, False)
        self._on_change(now)

    def link_up(
        self,
        server: str,
        description: ServerDescription,
        lists: Lists,
        now: float,
        owner: str | None = None,
        exact_asks: bool = False,
    ) -> Link:
        """A connection finished its handshake (and read its lists): send what waited for it.

        `exact_asks`: the transport says which request each of the server's own requests belongs to.
        """
        self._calls.now = now
        slot = self._servers[server]
        link = Link(server, description, owner, exact_asks)
        if owner is not None:
            slot.session_links[owner] = link
            self._calls.release(slot.opening.pop(owner, []), link, now, "")
            return link
        slot.shared, slot.state, slot.ever_ready, slot.reason, slot.retry_at = link, "ready", True, "", None
        slot.era = link.era
        self._fanout.list_changed(self._catalog.set_server(server, slot.rules.prefix, lists))
        self._fanout.restore(slot, link)
        self._hooks.server_changed(server, True)
        parked, slot.parked = slot.parked, []
        self._calls.release(parked, link, now, "")
        self._on_change(now)
        return link

    def server_elsewhere(self, name: str, instance: str, lists: Lists, now: float) -> None:
        """In a fleet: `instance` runs this server for every instance (placement = "one"), and lists
        `lists`; its calls go there from now on, the ones waiting for it too."""
        self._calls.now = now
        slot = self._servers[name]
        moved = slot.runs_on != instance
        slot.runs_on = instance
        slot.state, slot.ever_ready, slot.reason, slot.retry_at = "ready", True, "", None
        self._fanout.list_changed(self._catalog.set_server(name, slot.rules.prefix, lists))
        if moved:
            self._fanout.moved(slot)
        parked, slot.parked = slot.parked, []
        for call, _ in parked:
            self._calls.hand_off(call, instance)
        self._on_change(now)

    def server_here(self, name: str, now: float) -> None:
        """In a fleet: this instance is to run the server now (it took it over); its calls wait for the
        child as for any start. Its tools stay listed meanwhile."""
        self._calls.now = now
        slot = self._servers[name]
        if slot.runs_on is None:
            return
        slot.runs_on = None
        slot.state, slot.reason, slot.retry_at = "starting", "", None
        self._fanout.moved(slot)  # what clients here watch is restored on the new child when it is up

    def subscribe_for(self, server: str, uri: str, instance: str, wanted: bool) -> None:
        """In a fleet: another instance's clients want (or no longer want) `uri` of a server run here."""
        self._fanout.subscribe_for(server, uri, instance, wanted)

    def updated_elsewhere(self, msg: Message) -> None:
        """In a fleet: a resources/updated from the instance that runs its server, for clients here."""
        self._fanout.resource_updated(None, msg)

    def link_failed(self, server: str, owner: str, reason: str, now: float) -> None:
        """A session's own child could not be started."""
        waiting = self._servers[server].opening.pop(owner, [])
        self._calls.release(waiting, None, now, f"server {server!r} could not start: {reason}")

    def link_down(self, link: Link, reason: str, now: float) -> None:
        """A connection closed (the child exited, the remote went away): fail what it owed."""
        self._calls.now = now
        self._calls.link_lost(link, reason)
        for session in self._fanout.sessions_of(link):
            for ask_id, ask in list(session.asks.items()):
                if getattr(ask, "link", None) is link:
                    del session.asks[ask_id]
        slot = self._servers[link.server]
        if slot.shared is link:
            slot.shared = None
            if slot.state == "ready" and slot.runs_on is None:
                slot.state = "backoff"  # on its way back, until the supervisor says more
        elif link.owner is not None and slot.session_links.get(link.owner) is link:
            del slot.session_links[link.owner]

    def message(self, link: Link, msg: Message, now: float, related: object = None) -> None:
        """Whatever a backend sends that is not an answer to the pump's own requests (`related`: the
        request whose stream it came on, when the transport knows)."""
        self._calls.now = now
        kinds = self._inbound.message(link, msg, now, related)
        if kinds:
            self.refresh(link, kinds)

    def send_failed(self, link: Link, msg: Message, reason: str, now: float) -> None:
        self._calls.now = now
        self._calls.send_failed(link, msg, reason)

    def refresh(self, link: Link, kinds: tuple[str, ...]) -> None:
        """Re-read lists; a burst of list_changed costs at most one more re-read."""
        slot = self._servers[link.server]
        if kinds in slot.refreshing:
            slot.stale.add(kinds)
            return
        slot.refreshing.add(kinds)
        self._out.append(RefreshLists(link, kinds))

    def lists_read(self, link: Link, kinds: tuple[str, ...], lists: Lists) -> None:
        """The answer to a RefreshLists: update the catalog, tell clients, re-read if it changed meanwhile."""
        slot = self._servers[link.server]
        slot.refreshing.discard(kinds)
        if slot.shared is link:
            merged = {**self._catalog.server_lists(link.server), **lists}
            self._fanout.list_changed(self._catalog.set_server(link.server, slot.rules.prefix, merged))
        if kinds in slot.stale and not link.closed:
            slot.stale.discard(kinds)
            self.refresh(link, kinds)

    def lists_failed(self, link: Link, kinds: tuple[str, ...], reason: str) -> None:
        self._servers[link.server].refreshing.discard(kinds)
        self._out.append(Warn(f"{link.server}: could not re-read its {', '.join(kinds)}: {reason}"))
