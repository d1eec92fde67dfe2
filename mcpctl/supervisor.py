"""Owns the backends: starts them, restarts them with backoff, spots crash loops, stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

import anyio

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.config.models import ServerConfig
from mcpctl.errors import McpctlError, UnavailableError
from mcpctl.managed import ManagedServer, ServerState, elsewhere, status_report
from mcpctl.mcpclient.connection import Connection, Handler, Settings
from mcpctl.outages import count_attempt, reconnect_delay
from mcpctl.protocol.catalog import Lists
from mcpctl.tasks import TaskHost, first_of

log = logging.getLogger(__name__)

# What the gateway can route from a legacy child to its clients, declared in its initialize: the
# union of what clients may declare. The router checks each question against the calling client
# (it asks only clients that declared the capability, and refuses the rest as they would).
ROUTABLE_CAPABILITIES: dict[str, Any] = {
    "sampling": {"tools": {}},
    "elicitation": {"form": {}, "url": {}},
    "roots": {"listChanged": True},
}


class SupervisorEvents(Handler, Protocol):
    """What the gateway hears about servers coming and going (and, as the connections' handler,
    whatever their backends send)."""

    def server_up(self, name: str, connection: Connection, lists: Lists) -> None: ...

    def server_state(
        self, name: str, state: str, reason: str = "", retry_at: float | None = None
    ) -> None: ...


TransportFactory = Callable[[str, ServerConfig, MessageSink], Transport]


class Supervisor:
    """Runs one supervision loop per server; no server can block another or the start-up."""

    def __init__(
        self,
        servers: Mapping[str, ServerConfig],
        events: SupervisorEvents,
        transport_factory: TransportFactory,
        *,
        rng: random.Random | None = None,
        placed: Collection[str] = (),
    ) -> None:
        """`placed`: the servers one instance of the fleet runs; each starts here only when `take`n."""
        self._events = events
        self._transport_factory = transport_factory
        self._rng = rng or random.Random()  # noqa: S311 (backoff jitter, not cryptography)
        self.servers = {
            name: ManagedServer(name, cfg, era_hint=cfg.era, placed=name in placed)
            for name, cfg in servers.items()
        }
        self._tasks: TaskHost | None = None
        self._started = False
        self._stopping = False
        self._grace: float | None = None

    # -- running -------------------------------------------------------------------------------

    def start(self, tasks: TaskHost) -> None:
        """Start every server's loop in the host's task group; returns at once."""
        self._started = True
        self._tasks = tasks
        for server in self.servers.values():
            if server.placed:
                server.done.set()  # no loop until this instance holds it
                continue
            tasks.spawn(self._supervise, server, name=f"supervising {server.name}")

    # -- placement = "one": the fleet decides where it runs ------------------------------------

    def running(self, name: str) -> bool:
        """Whether this instance runs the server's supervision loop (a placed server: holds it)."""
        server = self._get(name)
        return not server.done.is_set() and not server.released

    def take(self, name: str) -> None:
        """Start a placed server here: this instance holds it for the fleet now."""
        server = self._get(name)
        server.runs_on = None
        if self._stopping or self._tasks is None or not server.done.is_set():
            server.released = False
            return
        server.released = False
        server.restart_requested = False
        server.done.clear()
        server.failures.clear()
        server.state = ServerState.STARTING
        self._tasks.spawn(self._supervise, server, name=f"supervising {server.name}")

    def release(self, name: str) -> None:
        """Stop a placed server here (another instance runs it now); its loop ends with the child."""
        server = self._get(name)
        server.released = True
        if server.starting is not None and server.scope is not None:
            server.scope.cancel()  # still starting: not worth finishing
        server.wakeup.set()

    def runs_elsewhere(self, name: str, instance: str, state: str = "ready") -> None:
        """What status says about a placed server another instance runs (its calls go there)."""
        server = self._get(name)
        server.runs_on = instance
        try:
            server.state_there = ServerState(state)
        except ValueError:
            server.state_there = ServerState.READY

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop every child at once, each within its shutdown_timeout (or `grace` when forced)."""
        self._stopping = True
        self._grace = grace
        for server in self.servers.values():
            server.wakeup.set()
            if server.starting is not None and server.scope is not None:
                server.scope.cancel()  # a child that never gets ready must not hold up the shutdown
        for server in self.servers.values():
            if self._started:
                await server.done.wait()
        stragglers = [s.starting.close(grace) for s in self.servers.values() if s.starting is not None]
        await asyncio.gather(*stragglers, return_exceptions=True)
        closing = [up.close(grace) for s in self.servers.values() for up in s.sessions.values()]
        await asyncio.gather(*closing, return_exceptions=True)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def restart(self, name: str) -> None:
        """Restart a server now (also brings one out of crash-loop or stopped)."""
        server = self._get(name)
        server.restart_requested = True
        server.failures.clear()
        server.wakeup.set()

    # -- lookups -------------------------------------------------------------------------------

    def unavailable_reason(self, server: ManagedServer) -> str:
        text = f"server {server.name!r} is unavailable ({server.state.value})"
        if server.retry_at is not None and server.state in (ServerState.BACKOFF, ServerState.CRASH_LOOP):
            text += f"; next attempt in {max(server.retry_at - time.monotonic(), 0):.0f}s"
        if server.last_error or server.last_exit:
            text += f"; last problem: {server.last_error or server.last_exit}"
        return text

    async def end_session(self, session_id: str) -> None:
        closing = [s.sessions.pop(session_id) for s in self.servers.values() if session_id in s.sessions]
        await asyncio.gather(*(up.close() for up in closing), return_exceptions=True)

    def required_ready(self) -> bool:
        return all(
            (s.state_there if elsewhere(s) else s.state) is ServerState.READY
            for s in self.servers.values()
            if s.config.required
        )

    def _get(self, name: str) -> ManagedServer:
        server = self.servers.get(name)
        if server is None:
            raise UnavailableError(
                f"no server named {name!r}", hint="see `mcpctl servers` for the configured names"
            )
        return server

    # -- the loop ------------------------------------------------------------------------------

    async def _supervise(self, server: ManagedServer) -> None:
        try:
            with anyio.CancelScope() as server.scope:
                while not self._stopping and not server.released:
                    await self._run_once(server)
                    if self.stopping or server.released:  # (mypy would assume the loop test still holds)
                        break
                    if server.restart_requested:
                        server.restart_requested = False
                        server.restarts += 1
                        continue
                    await self._after_exit(server)
        except Exception:  # a bug here must not take the other servers down with it
            log.exception("supervision of %s failed", server.name)
            server.state = ServerState.STOPPED
            server.last_error = "internal error in mcpctl's supervisor (see mcpctl's log)"
        finally:
            server.scope = None
            if server.released and server.starting is not None:  # released while starting: stop that child
                starting, server.starting = server.starting, None
                with anyio.CancelScope(shield=True):
                    await starting.close(self._grace)
            server.done.set()

    def _set_state(self, server: ManagedServer, state: ServerState, retry_in: float | None = None) -> None:
        server.state = state
        server.retry_at = None if retry_in is None else time.monotonic() + retry_in
        if state is not ServerState.READY:
            reason = server.last_error or server.last_exit
            self._events.server_state(server.name, state.value, reason, server.retry_at)

    async def _run_once(self, server: ManagedServer) -> None:
        self._set_state(server, ServerState.STARTING)
        try:
            connection = self._new_connection(server, ROUTABLE_CAPABILITIES)
        except McpctlError as exc:  # e.g. a secret the environment refers to is missing
            server.last_error = str(exc)
            log.warning("%s: %s", server.name, exc)
            return
        server.starting = connection
        server.stderr = getattr(connection.transport, "stderr", None)
        connected = await self._connect(server, connection)
        server.starting = None
        if isinstance(connected, str):
            server.last_error = connected
            return
        server.era_hint = connection.era.value if connection.era else "auto"
        server.connection = connection
        server.tools = len(connected["tools"])
        server.started_at = time.monotonic()
        server.last_error = ""
        self._set_state(server, ServerState.READY)
        self._events.server_up(server.name, connection, connected)
        await first_of(connection.wait_closed, server.wakeup.wait)
        server.wakeup.clear()
        server.connection = None
        reason = connection.close_reason or (
            "stopped by mcpctl" if self._stopping else "restarted on request"
        )
        server.last_exit = reason
        self._set_state(server, ServerState.STARTING if server.restart_requested else ServerState.BACKOFF)
        await connection.close(self._grace)

    async def _after_exit(self, server: ManagedServer) -> None:
        if server.config.url is not None:
            await self._reconnect_later(server)
            return
        now = time.monotonic()
        policy = server.config.restart
        if server.started_at is not None and now - server.started_at >= policy.reset_after:
            server.failures.clear()  # it ran long enough to count as healthy: start the backoff over
        server.started_at = None
        server.failures.append(now)
        while server.failures and now - server.failures[0] > policy.window:
            server.failures.popleft()
        if policy.mode == "never" or (policy.mode == "on-failure" and server.last_exit.endswith("code 0")):
            self._set_state(server, ServerState.STOPPED)
            await self._sleep(server, None)
        elif len(server.failures) >= policy.max_failures:
            log.warning(
                "%s: %d failures in %.0fs, crash-loop", server.name, len(server.failures), policy.window
            )
            self._set_state(server, ServerState.CRASH_LOOP, policy.crash_loop_cooldown)
            await self._sleep(server, policy.crash_loop_cooldown)
        else:
            delay = min(policy.max_backoff, policy.initial_backoff * 2 ** (len(server.failures) - 1))
            pause = self._rng.uniform(delay / 2, delay)  # jitter: no thundering herd
            self._set_state(server, ServerState.BACKOFF, pause)
            await self._sleep(server, pause)
        if not self._stopping:
            server.restarts += 1
            server.restart_requested = False

    async def _reconnect_later(self, server: ManagedServer) -> None:
        """A remote's outage is not a crash (see `outages`): tried again, capped, as long as it lasts."""
        attempts = count_attempt(server.failures, was_up=server.started_at is not None)
        server.started_at = None
        pause = reconnect_delay(server.config.reconnect, attempts, self._rng)
        self._set_state(server, ServerState.BACKOFF, pause)  # its tools stay listed; calls get the cause
        await self._sleep(server, pause)
        if not self._stopping:
            server.restarts += 1
            server.restart_requested = False

    async def _sleep(self, server: ManagedServer, seconds: float | None) -> None:
        """Wait until the retry time, a restart request or shutdown, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wakeup.wait(), seconds)
        server.wakeup.clear()
        server.retry_at = None

    async def open_session_link(self, name: str, session_id: str) -> tuple[Connection, Lists]:
        """Start a session's own child of an isolated server; UnavailableError when it cannot start."""
        server = self._get(name)
        if server.state is ServerState.CRASH_LOOP:
            raise UnavailableError(self.unavailable_reason(server))
        connection = self._new_connection(server, ROUTABLE_CAPABILITIES, era=server.era_hint)
        connected = await self._connect(server, connection)
        if isinstance(connected, str):
            raise UnavailableError(connected)
        server.sessions[session_id] = connection
        return connection, connected

    async def _connect(self, server: ManagedServer, connection: Connection) -> Lists | str:
        """Connect and read its lists within the startup timeout; on failure close it and say why."""
        try:
            async with asyncio.timeout(server.config.startup_timeout):
                await connection.connect()
                return await connection.read_lists()
        except (McpctlError, TimeoutError, OSError) as exc:
            problem = self._startup_error(server, connection, exc)
            await connection.close()
            return problem

    def _new_connection(
        self, server: ManagedServer, capabilities: dict[str, Any], era: str | None = None
    ) -> Connection:
        chosen = era or server.era_hint
        settings = Settings(
            name=server.name,
            era=chosen if chosen in ("legacy", "modern") else "auto",  # type: ignore[arg-type]
            probe_timeout=server.config.probe_timeout,
            client_capabilities=capabilities,
        )
        return Connection(
            settings, lambda sink: self._transport_factory(server.name, server.config, sink), self._events
        )

    def _startup_error(self, server: ManagedServer, connection: Connection, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            text = f"did not become ready within {server.config.startup_timeout:g}s"
        else:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if connection.close_reason and connection.close_reason not in text:
            text += f" ({connection.close_reason})"
        tail = getattr(connection.transport, "stderr", None)
        if tail is not None and tail.tail(1):
            text += f"; stderr: {tail.tail(1)[0][:300]}"
        if server.config.url is None or text != server.last_error:  # a remote's outage: said once
            log.warning("%s: %s", server.name, text)
        return text

    # -- status --------------------------------------------------------------------------------

    def status(self, name: str) -> dict[str, Any]:
        return status_report(self._get(name))
