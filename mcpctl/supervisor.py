"""Owns the backends: starts them, restarts them with backoff, spots crash loops, stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.backends.stdio import StdioSpec, StdioTransport
from mcpctl.config.models import ServerConfig
from mcpctl.errors import McpctlError, UnavailableError
from mcpctl.gateway.upstream import Upstream, UpstreamEvents, UpstreamSettings
from mcpctl.outages import count_attempt, reconnect_delay
from mcpctl.paths import Paths

log = logging.getLogger(__name__)

# What the gateway can route from a legacy child to its clients (declared in initialize).
# Roots are declared only to per-session children: a shared child has no single client whose
# roots it could ask for.
ROUTABLE_CAPABILITIES: dict[str, Any] = {"sampling": {}, "elicitation": {"form": {}, "url": {}}}
SESSION_CAPABILITIES: dict[str, Any] = {**ROUTABLE_CAPABILITIES, "roots": {"listChanged": True}}
# A call for a server that is starting or backing off waits this long for it before failing.
READY_WAIT = 5.0


class ServerState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    BACKOFF = "backoff"
    CRASH_LOOP = "crash-loop"
    STOPPED = "stopped"


class SupervisorEvents(UpstreamEvents, Protocol):
    """What the gateway needs to hear about servers coming and going."""

    def server_up(self, name: str, upstream: Upstream) -> None: ...

    def server_down(self, name: str, reason: str, *, forget: bool) -> None: ...


TransportFactory = Callable[[str, ServerConfig, MessageSink], Transport]


@dataclass(eq=False)
class ManagedServer:
    """One configured server and its supervision history."""

    name: str
    config: ServerConfig
    state: ServerState = ServerState.STARTING
    upstream: Upstream | None = None
    started_at: float | None = None  # monotonic time the current child became ready
    restarts: int = 0
    failures: deque[float] = field(default_factory=deque)
    last_exit: str = ""
    last_error: str = ""
    retry_at: float | None = None
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restart_requested: bool = False
    era_hint: str = "auto"
    sessions: dict[str, Upstream] = field(default_factory=dict)
    starting: Upstream | None = None  # the connection being set up, not yet handed to the gateway
    task: asyncio.Task[None] | None = None


class Supervisor:
    """Runs one supervision loop per server; no server can block another or the start-up."""

    def __init__(
        self,
        servers: Mapping[str, ServerConfig],
        events: SupervisorEvents,
        transport_factory: TransportFactory,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._events = events
        self._transport_factory = transport_factory
        self._rng = rng or random.Random()  # noqa: S311 (backoff jitter, not cryptography)
        self.servers = {name: ManagedServer(name, cfg, era_hint=cfg.era) for name, cfg in servers.items()}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._grace: float | None = None

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every server's loop in the background; returns at once."""
        loop = asyncio.get_running_loop()
        for server in self.servers.values():
            server.task = loop.create_task(self._supervise(server), name=f"supervise:{server.name}")
        self._tasks = [s.task for s in self.servers.values() if s.task is not None]

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop every child at once, each within its shutdown_timeout (or `grace` when forced)."""
        self._stopping = True
        self._grace = grace
        for server in self.servers.values():
            server.wakeup.set()
            if server.starting is not None and server.task is not None:
                server.task.cancel()  # a child that never gets ready must not hold up the shutdown
        await asyncio.gather(*self._tasks, return_exceptions=True)
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

    async def upstream(self, name: str, session_id: str | None = None) -> Upstream:
        """The live connection for `name` (per session for isolated servers); waits briefly if starting."""
        server = self._get(name)
        if server.config.isolation == "session" and session_id is not None:
            return await self._session_upstream(server, session_id)
        if server.state in (ServerState.STARTING, ServerState.BACKOFF) and not server.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.ready.wait(), READY_WAIT)
        upstream = server.upstream
        if server.state is ServerState.READY and upstream is not None and not upstream.closed:
            return upstream
        raise UnavailableError(self.unavailable_reason(server))

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
        return all(s.state is ServerState.READY for s in self.servers.values() if s.config.required)

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
            while not self._stopping:
                await self._run_once(server)
                if self.stopping:  # (a property: mypy would assume the loop test still holds)
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

    async def _run_once(self, server: ManagedServer) -> None:
        server.state = ServerState.STARTING
        server.retry_at = None
        # A per-session server's shared instance only feeds the catalog: it must declare what the
        # session instances declare, or servers that list tools by capability (roots) list fewer.
        capabilities = SESSION_CAPABILITIES if server.config.isolation == "session" else ROUTABLE_CAPABILITIES
        try:
            upstream = self._new_upstream(server, capabilities)
        except McpctlError as exc:  # e.g. a secret the environment refers to is missing
            server.last_error = str(exc)
            log.warning("%s: %s", server.name, exc)
            return
        server.starting = upstream
        problem = await self._connect(server, upstream)
        server.starting = None
        if problem is not None:
            server.last_error = problem
            return
        server.era_hint = upstream.era.value if upstream.era else "auto"
        server.upstream = upstream
        server.started_at = time.monotonic()
        server.last_error = ""
        server.state = ServerState.READY
        server.ready.set()
        self._events.server_up(server.name, upstream)
        closed = asyncio.ensure_future(upstream.wait_closed())
        woken = asyncio.ensure_future(server.wakeup.wait())
        try:
            await asyncio.wait({closed, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            woken.cancel()
        server.wakeup.clear()
        server.ready.clear()
        server.upstream = None
        reason = upstream.close_reason or ("stopped by mcpctl" if self._stopping else "restarted on request")
        server.last_exit = reason
        self._events.server_down(server.name, reason, forget=False)
        await upstream.close(self._grace)

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
            server.state = ServerState.STOPPED
            self._events.server_down(server.name, server.last_exit, forget=True)
            await self._sleep(server, None)
        elif len(server.failures) >= policy.max_failures:
            server.state = ServerState.CRASH_LOOP
            log.warning(
                "%s: %d failures in %.0fs, crash-loop", server.name, len(server.failures), policy.window
            )
            self._events.server_down(server.name, server.last_error or server.last_exit, forget=True)
            await self._sleep(server, policy.crash_loop_cooldown)
        else:
            server.state = ServerState.BACKOFF
            delay = min(policy.max_backoff, policy.initial_backoff * 2 ** (len(server.failures) - 1))
            await self._sleep(server, self._rng.uniform(delay / 2, delay))  # jitter: no thundering herd
        if not self._stopping:
            server.restarts += 1
            server.restart_requested = False

    async def _reconnect_later(self, server: ManagedServer) -> None:
        """A remote's outage is not a crash (see `outages`): tried again, capped, as long as it lasts."""
        attempts = count_attempt(server.failures, was_up=server.started_at is not None)
        server.started_at = None
        server.state = ServerState.BACKOFF  # its tools stay listed; calls get the cause
        await self._sleep(server, reconnect_delay(server.config.reconnect, attempts, self._rng))
        if not self._stopping:
            server.restarts += 1
            server.restart_requested = False

    async def _sleep(self, server: ManagedServer, seconds: float | None) -> None:
        """Wait until the retry time, a restart request or shutdown, whichever comes first."""
        server.retry_at = None if seconds is None else time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wakeup.wait(), seconds)
        server.wakeup.clear()
        server.retry_at = None

    async def _session_upstream(self, server: ManagedServer, session_id: str) -> Upstream:
        upstream = server.sessions.get(session_id)
        if upstream is not None and not upstream.closed:
            return upstream
        if server.state is ServerState.CRASH_LOOP:
            raise UnavailableError(self.unavailable_reason(server))
        upstream = self._new_upstream(server, SESSION_CAPABILITIES, era=server.era_hint)
        problem = await self._connect(server, upstream)
        if problem is not None:
            raise UnavailableError(problem)
        upstream.owner = session_id
        server.sessions[session_id] = upstream
        return upstream

    async def _connect(self, server: ManagedServer, upstream: Upstream) -> str | None:
        """Connect within the startup timeout; on failure close it and say what went wrong."""
        try:
            await asyncio.wait_for(upstream.connect(), server.config.startup_timeout)
        except (McpctlError, TimeoutError, OSError) as exc:
            problem = self._startup_error(server, upstream, exc)
            await upstream.close()
            return problem
        return None

    def _new_upstream(
        self, server: ManagedServer, capabilities: dict[str, Any], era: str | None = None
    ) -> Upstream:
        chosen = era or server.era_hint
        settings = UpstreamSettings(
            name=server.name,
            era=chosen if chosen in ("legacy", "modern") else "auto",  # type: ignore[arg-type]
            probe_timeout=server.config.probe_timeout,
            client_capabilities=capabilities,
        )
        return Upstream(
            settings, lambda sink: self._transport_factory(server.name, server.config, sink), self._events
        )

    def _startup_error(self, server: ManagedServer, upstream: Upstream, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            text = f"did not become ready within {server.config.startup_timeout:g}s"
        else:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if upstream.close_reason and upstream.close_reason not in text:
            text += f" ({upstream.close_reason})"
        tail = getattr(upstream.transport, "stderr", None)
        if tail is not None and tail.tail(1):
            text += f"; stderr: {tail.tail(1)[0][:300]}"
        if server.config.url is None or text != server.last_error:  # a remote's outage: said once
            log.warning("%s: %s", server.name, text)
        return text

    # -- status --------------------------------------------------------------------------------

    def status(self, name: str) -> dict[str, Any]:
        server = self._get(name)
        upstream = server.upstream
        stderr = getattr(upstream.transport, "stderr", None) if upstream else None
        now = time.monotonic()
        return {
            "name": server.name,
            "state": server.state.value,
            "required": server.config.required,
            "transport": "stdio" if server.config.command else "http",
            "pid": upstream.transport.pid if upstream else None,
            "uptime": round(now - server.started_at, 1) if server.started_at and upstream else None,
            "restarts": server.restarts,
            "era": upstream.era.value if upstream and upstream.era else None,
            "protocolVersion": upstream.protocol_version if upstream else None,
            "serverInfo": upstream.server_info if upstream else None,
            "tools": len(upstream.lists["tools"]) if upstream else 0,
            "sessions": len(server.sessions),
            "lastExit": server.last_exit or None,
            "lastError": server.last_error or None,
            "retryIn": round(max(server.retry_at - now, 0), 1) if server.retry_at else None,
            "stderr": stderr.tail(10) if stderr else [],
        }


def default_transports(
    paths: Paths, resolve: Callable[[str, str], str], scrub: Callable[[str], str] | None = None
) -> TransportFactory:
    """Transports for configured servers: a stdio child, or a remote URL.

    `resolve(server, value)` expands secret references in env and header values; `scrub(text)`
    replaces their values in what a child prints on stderr.
    """
    log_dir = paths.server_log_dir

    logins: Any = None  # the stored OAuth logins, opened for the first `auth = "oauth"` server

    def make(name: str, cfg: ServerConfig, sink: MessageSink) -> Transport:
        nonlocal logins
        if cfg.url is not None:
            from mcpctl.backends.http import HttpTransport

            headers = {key: resolve(name, value) for key, value in cfg.headers.items()}
            auth = None
            if cfg.auth == "oauth":  # tokens from `mcpctl login URL`, never a client's
                from mcpctl.oauth.wiring import HostLogins

                logins = logins or HostLogins(paths)
                auth = logins.bearer(cfg.url)
            return HttpTransport(
                cfg.url,
                sink,
                headers=headers,
                auth=auth,
                mode=cfg.transport,
                health_interval=cfg.reconnect.health_interval,
            )
        assert cfg.command is not None
        spec = StdioSpec(
            command=cfg.command,
            args=tuple(cfg.args),
            env={key: resolve(name, value) for key, value in cfg.env.items()},
            inherit_env=tuple(cfg.inherit_env),
            cwd=cfg.cwd,
            max_line_bytes=cfg.max_line_bytes,
            shutdown_timeout=cfg.shutdown_timeout,
            stderr_path=log_dir / f"{name}.log",
            scrub=scrub,
        )
        return StdioTransport(spec, sink)

    return make
