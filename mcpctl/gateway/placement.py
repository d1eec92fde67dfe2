"""placement = "one" in a fleet: one instance runs the server's child, the others forward to it.

Every second, for each such server, each instance takes or renews the server's lease (see
`fleet.placement`): the holder runs the child and publishes its lists; the others stop theirs if
they had one, list what the holder published and hand the server's calls to it (the router's
`CallElsewhere`). A holder that stops renewing (killed, hung, cut off from Redis) loses the
server after OWN_MS, and the first instance to look then starts a child of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import anyio
import anyio.abc

from mcpctl.fleet.node import FleetNode
from mcpctl.fleet.placement import Placements, decide, digest, may_take
from mcpctl.fleet.store import RENEW_SECONDS, StateUnavailable
from mcpctl.gateway.pump import Gateway
from mcpctl.supervisor import Supervisor
from mcpctl.tasks import TaskHost

log = logging.getLogger(__name__)


class Placement:
    """A service of the host (started after the supervisor): decides where each placed server runs."""

    name = "placement"

    def __init__(
        self, gateway: Gateway, supervisor: Supervisor, fleet: FleetNode, servers: list[str], tasks: TaskHost
    ) -> None:
        self._gateway = gateway
        self._tasks = tasks
        self._supervisor = supervisor
        self._fleet = fleet
        self._servers = servers
        self._placements = Placements(fleet.store)
        self._shown: dict[str, tuple[str, str]] = {}  # server -> (holder, lists digest) the router knows
        self._published: dict[str, str] = {}  # server -> digest of the lists we published
        self._free_looks: dict[str, int] = {}  # server -> looks in a row that found its lease free
        self._wake = asyncio.Event()
        self._problem = ""
        if gateway.elsewhere is not None:
            gateway.elsewhere.lists_changed = lambda server: self._wake.set()
            gateway.elsewhere.restart_asked = self._restart_here

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            for server in self._servers:
                try:
                    await self._step(server)
                except StateUnavailable as exc:
                    if exc.message != self._problem:  # said once per outage, not every second
                        log.warning("fleet: where %s runs stays as it is: %s", server, exc.message)
                    self._problem = exc.message
                else:
                    self._problem = ""
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RENEW_SECONDS)
            self._wake.clear()

    async def _step(self, server: str) -> None:
        me = self._fleet.store.instance
        running = self._supervisor.running(server)
        holder = await self._placements.claim(server, may_take(running, self._free_looks.get(server, 0)))
        self._free_looks[server] = self._free_looks.get(server, 0) + 1 if not holder else 0
        step = decide(me, holder, running)
        if step == "wait":  # nobody holds it: calls go where they went until someone takes it
            return
        if step == "start":
            log.info("%s: this instance runs it for the fleet (placement = one)", server)
            self._shown.pop(server, None)
            self._gateway.server_here(server)
            self._supervisor.take(server)
        elif step == "stop":
            log.warning("%s: instance %s runs it for the fleet now; stopping ours", server, holder)
            self._supervisor.release(server)
        if holder == me:
            await self._publish(server)
        else:
            await self._follow(server, holder)

    async def _publish(self, server: str) -> None:
        view = self._gateway.placed_view(server)
        if view is None:  # our child is starting for the first time: the others keep what they had
            return
        lists, state = view
        new = digest(lists, state)
        if self._published.get(server) == new:
            return
        await self._placements.publish(server, lists, state)
        self._published[server] = new
        await self._fleet.inbox.send_to_others({"k": "lists", "s": server})  # no need to wait a second

    async def _follow(self, server: str, holder: str) -> None:
        self._published.pop(server, None)
        published = await self._placements.read(server)
        if published is None:  # nobody listed it yet: requests for it wait as for any first start
            return
        if self._shown.get(server) == (holder, published.digest):
            return
        self._shown[server] = (holder, published.digest)
        self._supervisor.runs_elsewhere(server, holder, published.state)
        self._gateway.server_elsewhere(server, holder, published.lists)

    def restart_elsewhere(self, server: str) -> bool:
        """`mcpctl servers restart` for a placed server another instance runs: that instance restarts
        it (False: it runs here, or is not placed; the supervisor restarts it)."""
        managed = self._supervisor.servers.get(server)
        if server not in self._servers or managed is None or managed.runs_on is None:
            return False
        if self._supervisor.running(server):
            return False
        entry = {"k": "restart", "s": server}
        self._tasks.spawn(self._send, managed.runs_on, entry, name=f"restarting {server} there")
        return True

    async def _send(self, instance: str, entry: dict[str, object]) -> None:
        for attempt in (1, 2):  # twice: right after Redis restarts, a pooled connection fails once
            try:
                await self._fleet.inbox.send(instance, entry)
            except StateUnavailable as exc:
                if attempt == 2:
                    log.warning("fleet: %s", exc.message)
            else:
                return

    def _restart_here(self, server: str) -> None:
        if server in self._servers and self._supervisor.running(server):
            self._supervisor.restart(server)

    async def drain(self) -> None:
        """A clean stop (the children are stopped by now): give the servers up, so another instance
        takes them over at once rather than after the lease lapses."""
        for server in self._servers:
            with contextlib.suppress(StateUnavailable), anyio.move_on_after(2):
                await self._placements.release(server)
