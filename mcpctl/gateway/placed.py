"""The gateway's side of `placement = "one"`: servers another instance of the fleet runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mcpctl.protocol.catalog import Lists
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.router import Router

if TYPE_CHECKING:
    from mcpctl.gateway.elsewhere import Elsewhere


class PlacedServers:
    """What the placement loop tells the router, and what it publishes (a mixin of `Gateway`)."""

    router: Router
    _clock: Callable[[], float]
    _elsewhere: Elsewhere | None

    def _drain(self) -> None:
        raise NotImplementedError

    @property
    def elsewhere(self) -> Elsewhere | None:
        return self._elsewhere

    def server_elsewhere(self, name: str, instance: str, lists: Lists) -> None:
        """Another instance runs the server for the fleet: list what it published, send calls there."""
        self.router.backends.server_elsewhere(name, instance, lists, self._clock())
        self._drain()

    def server_here(self, name: str) -> None:
        """This instance runs the server for the fleet from now on (its child is being started)."""
        self.router.backends.server_here(name, self._clock())
        self._drain()

    def subscribe_for(self, server: str, uri: str, instance: str, wanted: bool) -> None:
        """Another instance's clients want (or no longer want) a resource of a server this one runs."""
        if server in self.router.servers:
            self.router.backends.subscribe_for(server, uri, instance, wanted)
            self._drain()

    def updated_elsewhere(self, msg: Message) -> None:
        """A resources/updated from the instance that runs its server, for the clients here."""
        self.router.backends.updated_elsewhere(msg)
        self._drain()

    def placed_view(self, name: str) -> tuple[Lists, str] | None:
        """The lists and state of a server this instance runs, to publish (None while it starts for
        the first time: the others wait for its lists as for any first start)."""
        slot = self.router.servers[name]
        if slot.runs_on is not None or slot.first_start:
            return None
        return self.router.catalog.server_lists(name), slot.state
