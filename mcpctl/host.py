"""Composition root: Config -> Supervisor -> Gateway -> edge app -> HTTP server, and its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from mcpctl import __version__
from mcpctl.audit.redact import KnownSecrets
from mcpctl.config.models import Config
from mcpctl.edge.app import EdgeApp
from mcpctl.edge.asgi import ASGIApp
from mcpctl.edge.legacy_sse import LegacySSEEndpoint
from mcpctl.edge.routes import MCP_PATH
from mcpctl.edge.security import OriginHostGuard
from mcpctl.edge.server import ProtocolLimits, edge_protocol
from mcpctl.edge.status import StatusEndpoints
from mcpctl.edge.streamable import StreamableEndpoint
from mcpctl.errors import UsageError
from mcpctl.extension import Builder, MetricsSource, PartContext, StatusFields
from mcpctl.fleet.events import SessionEvents
from mcpctl.fleet.inbox import Inbox
from mcpctl.fleet.keys import fleet_keys
from mcpctl.fleet.node import FleetNode, instance_name
from mcpctl.fleet.sessions import FleetSessions
from mcpctl.fleet.store import StateStore
from mcpctl.gateway.placement import Placement
from mcpctl.gateway.pump import Gateway
from mcpctl.hoststate import HostState, clear_host_state, write_host_state
from mcpctl.mcpclient import CLIENT_INFO
from mcpctl.mcpclient.connection import Connection
from mcpctl.paths import Paths, ensure_private_dir
from mcpctl.protocol.catalog import Lists
from mcpctl.router.context import Principal
from mcpctl.router.hooks import HookChain
from mcpctl.router.router import Router, RouterConfig
from mcpctl.router.servers import ServerRules
from mcpctl.sealing import KeyRing
from mcpctl.supervisor import Supervisor, TransportFactory
from mcpctl.tasks import Service, TaskHost
from mcpctl.transports import default_transports

log = logging.getLogger("mcpctl")

END_CALLS_BEFORE = 1.0  # seconds before the shutdown grace ends that running calls are answered


def plain_resolver(server: str, value: str) -> str:
    """The default: values are used as written (the secrets layer replaces this)."""
    return value


@dataclass
class Host:
    """Everything `mcpctl serve` runs, wired together; `serve()` runs it until a signal."""

    config: Config
    paths: Paths
    bridge: str | None = None
    # optional parts (auth, limits, audit, metrics), in the order their hooks run
    builders: tuple[Builder, ...] = ()
    transport_factory: TransportFactory | None = None
    config_source: str = ""
    on_ready: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        gw = self.config.gateway
        servers = self.config.enabled_servers()
        self.hooks = HookChain([])
        self.layers: list[Callable[[ASGIApp], ASGIApp]] = []
        self.services: list[Service] = []
        self.resolve: Callable[[str, str], str] = plain_resolver
        self.status_fields: list[StatusFields] = []
        self.collectors: list[MetricsSource] = []
        # the secret values resolved for servers: the secrets layer adds them, every writer and
        # the admin API scrub them out of what they write or serve
        self.secrets = KnownSecrets()
        rules = {
            name: ServerRules(
                prefix="" if name == self.bridge else self.config.prefix_of(name),
                isolation=cfg.isolation,
                call_timeout=cfg.call_timeout,
                max_call_timeout=cfg.max_call_timeout,
                startup_timeout=cfg.startup_timeout,
                roots=tuple(cfg.roots) if cfg.roots is not None else None,
                input_ttl=cfg.input_ttl,
            )
            for name, cfg in servers.items()
        }
        state = self.config.state
        instance = state.instance or instance_name()
        self.router = Router(
            RouterConfig(
                servers=rules,
                bridge=self.bridge,
                page_size=gw.page_size,
                session_ttl=gw.session_ttl,
                max_sessions=gw.max_sessions,
                max_sessions_per_principal=gw.max_sessions_per_principal,
                client_info=CLIENT_INFO,
                version=__version__,
                instance=instance,
                fleet=state.url is not None,
            ),
            self._key_ring(),
            hooks=self.hooks,
        )
        self.fleet = self._fleet(instance)
        self.tasks = TaskHost()
        self.gateway = Gateway(self.router, self.tasks, self._open_link, self._end_session, fleet=self.fleet)
        factory = self.transport_factory or default_transports(self.paths, self._resolve, self.secrets.scrub)
        # placement = "one" means something in a fleet only; alone, every server runs here
        placed = [name for name, cfg in servers.items() if cfg.placement == "one"] if self.fleet else []
        self.supervisor = Supervisor(servers, self.gateway, factory, placed=placed)
        self.placement = (
            Placement(self.gateway, self.supervisor, self.fleet, placed, self.tasks)
            if self.fleet and placed
            else None
        )
        self.admin_token = secrets.token_urlsafe(32)
        context = PartContext(
            config=self.config,
            paths=self.paths,
            secrets=self.secrets,
            fleet=self.fleet,
            status=self,
            end_streams=self.end_streams,
            collectors=self.collectors,
        )
        for build in self.builders:
            part = build(context)
            self.hooks.add(part.hooks)
            self.layers.extend(part.layers)
            self.services.extend(part.services)
            self.status_fields.extend(part.status)
            self.collectors.extend(part.collectors)
            if part.resolve is not None:
                self.resolve = part.resolve
            if part.recorder is not None:  # the parts built after the audit part record through it
                context = replace(context, audit=part.recorder)
            if part.shared_buckets is not None and self.fleet is not None:
                self.fleet.buckets = part.shared_buckets

    def _resolve(self, server: str, value: str) -> str:
        return self.resolve(server, value)  # looked up per call: a part may replace `resolve` later

    def _key_ring(self) -> KeyRing:
        """A fleet's instances share keys (a token one issues, another opens); alone, a fresh one will do."""
        if self.config.state.url is None:
            return KeyRing.random()
        from mcpctl.auth.store import open_store, secret_user

        def read_secret(name: str) -> str | None:
            return open_store(self.paths).get(secret_user(name))

        return fleet_keys(self.config.state, os.environ, read_secret)

    def _fleet(self, instance: str) -> FleetNode | None:
        state = self.config.state
        if state.url is None:
            return None
        store = StateStore(state.url, instance)
        ttl = self.config.gateway.session_ttl
        sessions = FleetSessions(store, self.router, ttl, state.session_max_age)
        return FleetNode(store, sessions, SessionEvents(store, ttl), Inbox(store))

    def state_status(self) -> dict[str, Any] | None:
        """What /ready says about the fleet's store (None: no fleet)."""
        if self.fleet is None:
            return None
        store = self.fleet.store
        status: dict[str, Any] = {"instance": store.instance, "healthy": store.healthy}
        if not store.healthy:
            status["problem"] = store.last_problem
        return status

    async def _open_link(self, name: str, session_id: str) -> tuple[Connection, Lists]:
        return await self.supervisor.open_session_link(name, session_id)

    async def _end_session(self, session_id: str) -> None:
        await self.supervisor.end_session(session_id)

    # -- what the status endpoints and metrics read (edge.status.HostStatus) -------------------------

    def server_names(self) -> list[str]:
        return list(self.supervisor.servers)

    def server_status(self, name: str) -> dict[str, Any]:
        status = self.supervisor.status(name)
        if status["state"] == "ready":  # the catalog follows list_changed; the supervisor saw the start
            status["tools"] = len(self.router.catalog.server_lists(name)["tools"])
        return status

    def required_ready(self) -> bool:
        return self.supervisor.required_ready()

    def restart(self, name: str) -> None:
        if self.placement is not None and self.placement.restart_elsewhere(name):
            return  # another instance of the fleet runs it: restarted there
        self.supervisor.restart(name)

    def session_count(self) -> int:
        return self.gateway.session_count()

    def collisions(self) -> list[str]:
        return [c.describe() for c in self.router.catalog.collisions]

    def app(self) -> ASGIApp:
        gw = self.config.gateway
        edge: ASGIApp = EdgeApp(
            StreamableEndpoint(self.gateway, gw.max_body_bytes),
            LegacySSEEndpoint(self.gateway, self.tasks, gw.max_body_bytes),
            StatusEndpoints(self, self.admin_token, self.status_fields, self.secrets.scrub_all),
        )
        for layer in reversed(self.layers):  # the first listed ends up outermost
            edge = layer(edge)
        return OriginHostGuard(edge, allowed_origins=gw.allowed_origins, allowed_hosts=self._allowed_hosts())

    def _allowed_hosts(self) -> list[str]:
        """Host values clients may use beyond IP addresses and loopback names: the configured ones,
        and the host of `[auth] public_url` (the name a proxy in front of us passes on)."""
        hosts = list(self.config.gateway.allowed_hosts)
        public = self.config.auth.public_url
        if public:
            netloc = urlsplit(public).netloc.rpartition("@")[2]
            if netloc:
                hosts.append(netloc)
        return hosts

    async def serve(self) -> None:
        """Bind, start the servers, serve until SIGINT/SIGTERM, then shut down within deadlines."""
        gw = self.config.gateway
        sock = bind_socket(gw.host, gw.port)
        host, port = sock.getsockname()[:2]
        url = f"http://{_url_host(host)}:{port}{MCP_PATH}"
        server = _Server(
            uvicorn.Config(
                self.app(),
                lifespan="off",
                interface="asgi3",  # (its guess takes an app whose __call__ is no coroutine for ASGI 2)
                ws="none",  # mcpctl's protocol serves no WebSocket (and its endpoints have none)
                http=edge_protocol(
                    ProtocolLimits(
                        max_header_bytes=gw.max_header_bytes,
                        max_headers=gw.max_headers,
                        header_timeout=gw.header_timeout,
                        body_timeout=gw.body_timeout,
                    )
                ),
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=max(int(gw.shutdown_grace), 1),
                server_header=False,
                # X-Forwarded-For from loopback would otherwise replace the client's address (in the
                # audit trail, for instance): any local process could claim to be anyone.
                proxy_headers=False,
            )
        )
        for directory in (self.paths.state_dir, self.paths.log_dir, self.paths.runtime_dir):
            ensure_private_dir(directory)  # before any part creates files in them
        state = HostState(
            url=url,
            pid=os.getpid(),
            started=time.time(),
            admin_token=self.admin_token,
            version=__version__,
            config=self.config_source,
        )
        loop = asyncio.get_running_loop()
        async with self.tasks:
            if self.fleet is not None:
                await self.tasks.start(self.fleet)
            for service in self.services:
                await self.tasks.start(service)
            with self._signals(loop, server):
                self.supervisor.start(self.tasks)
                if self.placement is not None:
                    await self.tasks.start(self.placement)  # drained (servers given up) before the fleet
                write_host_state(self.paths.host_state_file, state)
                log.info(
                    "mcpctl %s serving %d server(s) at %s", __version__, len(self.supervisor.servers), url
                )
                if self.on_ready is not None:
                    self.on_ready(url)
                _settle_heap()
                try:
                    await server.serve(sockets=[sock])
                finally:
                    clear_host_state(self.paths.host_state_file, os.getpid())
                    await self._stop(force=server.force_exit)
        log.info("mcpctl stopped")  # after the services drained (the audit trail is complete)

    def end_streams(self, holders: Callable[[Principal], bool]) -> None:
        """Close what callers whose credential stopped working hold open (a revoked key's streams)."""
        ended = self.gateway.end_streams(holders)
        if ended:
            log.info("closed %d session(s) and stream(s) of a key that stopped working", ended)

    async def _stop(self, *, force: bool) -> None:
        for session in self.gateway.sessions():
            self.gateway.close_session(session)
        await self.supervisor.shutdown(grace=0.2 if force else None)
        self.gateway.stop()

    @contextlib.contextmanager
    def _signals(self, loop: asyncio.AbstractEventLoop, server: _Server) -> Iterator[None]:
        """First SIGINT/SIGTERM: stop accepting, let calls finish; a second one: force."""

        def stop(sig: signal.Signals) -> None:
            if server.should_exit:
                log.warning("second %s: forcing shutdown", sig.name)
                server.force_exit = True
                return
            log.info("%s: shutting down (press Ctrl-C again to force)", sig.name)
            server.should_exit = True
            # Open streams never end on their own: close them so connections can drain.
            for session in self.gateway.sessions():
                if session.io is not None:
                    session.io.close()
            for listener in self.gateway.listeners():
                if listener.io is not None:
                    listener.io.close()
            # Calls still running when the grace time is nearly over get an error they can read,
            # before the HTTP server drops their connections.
            grace = self.config.gateway.shutdown_grace
            loop.call_later(
                max(grace - END_CALLS_BEFORE, grace / 2), self.gateway.end_calls, "mcpctl is shutting down"
            )

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


class _Server(uvicorn.Server):
    """uvicorn, minus its own signal handling (it re-raises signals after serving, which would
    kill us before the children are stopped); the host installs its own handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one) or stop what is using it",
        ) from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _settle_heap() -> None:
    """Collect what start-up left behind, then take the rest out of the cyclic collector's sight.

    Modules, configuration and the router live as long as the host; without this every full
    collection under load walks all of them again (more than 65,000 objects: a pause of tens of
    milliseconds on a busy machine, and about 1 % of a call's instructions on average).
    """
    gc.collect()
    gc.freeze()
