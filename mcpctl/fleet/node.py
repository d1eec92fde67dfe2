"""This instance as a member of the fleet: its store, sessions, streams and inbox, and their loops."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable

import anyio
import anyio.abc

from mcpctl.fleet.events import SessionEvents
from mcpctl.fleet.inbox import Deliver, Inbox
from mcpctl.fleet.sessions import FleetSessions
from mcpctl.fleet.store import StateStore


def instance_name() -> str:
    """A name no other instance has: the host's name and a random part (a restarted instance is new)."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


class FleetNode:
    """Runs as one service of the host: the lease, the stream writer and the inbox reader."""

    name = "fleet"

    def __init__(
        self, store: StateStore, sessions: FleetSessions, events: SessionEvents, inbox: Inbox
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.events = events
        self.inbox = inbox
        self.deliver: Deliver = lambda entry: None  # set by the pump
        # the shared rate limits' buckets for (principal, method, server, name): (key, interval us,
        # burst) each; set by the limits part when it has call-level rules
        self.buckets: Callable[[str, str, str, str], list[tuple[str, int, int]]] = lambda *_: []
        self.live_sessions = 0  # the fleet's, counted every second

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self.store.keep_lease, self._count)
            group.start_soon(self.events.keep_writing)
            group.start_soon(self.inbox.keep_reading, self._deliver)
            task_status.started()

    async def _count(self) -> None:
        self.live_sessions = await self.sessions.count()

    def _deliver(self, entry: dict[str, object]) -> None:
        self.deliver(entry)

    async def drain(self) -> None:
        await self.store.close()


StatusReader = Callable[[], dict[str, object]]
