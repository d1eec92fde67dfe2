"""Composition root: Config -> Supervisor -> Gateway -> edge app -> HTTP server, and its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from mcpctl import __version__
from mcpctl.audit.api import AuditRecorder, NullRecorder
from mcpctl.audit.redact import KnownSecrets
from mcpctl.config.models import Config
from mcpctl.edge.app import MCP_PATH, EdgeApp
from mcpctl.edge.asgi import ASGIApp
from mcpctl.edge.legacy_sse import LegacySSEEndpoint
from mcpctl.edge.security import OriginHostGuard
from mcpctl.edge.server import ProtocolLimits, limited_protocol
from mcpctl.edge.status import StatusEndpoints
from mcpctl.edge.streamable import StreamableEndpoint
from mcpctl.errors import UsageError
from mcpctl.extension import Builder, MetricsSource, Service, StatusFields
from mcpctl.gateway.engine import Gateway
from mcpctl.gateway.hooks import HookChain
from mcpctl.gateway.sessions import MemorySessionStore
from mcpctl.hoststate import HostState, clear_host_state, write_host_state
from mcpctl.paths import Paths, ensure_private_dir
from mcpctl.supervisor import Supervisor, TransportFactory, default_transports

log = logging.getLogger("mcpctl")

SESSION_SWEEP_SECONDS = 30.0


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
        # the audit part replaces this; other parts record auth events and refusals through it
        self.audit: AuditRecorder = NullRecorder()
        # the secret values resolved for servers: the secrets layer adds them, every writer and
        # the admin API scrub them out of what they write or serve
        self.secrets = KnownSecrets()
        self.sessions = MemorySessionStore(gw.session_ttl)
        self.gateway = Gateway(
            order=list(servers),
            prefixes={name: ("" if name == self.bridge else self.config.prefix_of(name)) for name in servers},
            sessions=self.sessions,
            upstream_for=self._upstream_for,
            end_session=self._end_session,
            call_timeouts={name: (s.call_timeout, s.max_call_timeout) for name, s in servers.items()},
            page_size=gw.page_size,
            bridge=self.bridge,
            hooks=self.hooks,
        )
        factory = self.transport_factory or default_transports(self.paths, self._resolve, self.secrets.scrub)
        self.supervisor = Supervisor(servers, self.gateway, factory)
        self.admin_token = secrets.token_urlsafe(32)
        for build in self.builders:
            part = build(self)
            self.hooks.hooks.extend(part.hooks)
            self.layers.extend(part.layers)
            self.services.extend(part.services)
            self.status_fields.extend(part.status)
            self.collectors.extend(part.collectors)
            if part.resolve is not None:
                self.resolve = part.resolve

    def _resolve(self, server: str, value: str) -> str:
        return self.resolve(server, value)  # looked up per call: a part may replace `resolve` later

    async def _upstream_for(self, name: str, session_id: str | None) -> Any:
        return await self.supervisor.upstream(name, session_id)

    async def _end_session(self, session_id: str) -> None:
        await self.supervisor.end_session(session_id)

    def app(self) -> ASGIApp:
        gw = self.config.gateway
        edge: ASGIApp = EdgeApp(
            StreamableEndpoint(self.gateway, gw.max_body_bytes),
            LegacySSEEndpoint(self.gateway, gw.max_body_bytes),
            StatusEndpoints(
                self.gateway, self.supervisor, self.admin_token, self.status_fields, self.secrets.scrub_all
            ),
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
                http=limited_protocol(
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
        for service in self.services:
            await service.start()
        with self._signals(loop, server):
            self.supervisor.start()
            sweeper = loop.create_task(self._sweep_sessions())
            write_host_state(self.paths.host_state_file, state)
            log.info("mcpctl %s serving %d server(s) at %s", __version__, len(self.supervisor.servers), url)
            if self.on_ready is not None:
                self.on_ready(url)
            try:
                await server.serve(sockets=[sock])
            finally:
                sweeper.cancel()
                clear_host_state(self.paths.host_state_file, os.getpid())
                await self._stop(force=server.force_exit)

    async def _stop(self, *, force: bool) -> None:
        for session in self.sessions.all():
            await self.gateway.close_session(session)
        await self.supervisor.shutdown(grace=0.2 if force else None)
        for service in reversed(self.services):
            await service.stop()
        log.info("mcpctl stopped")

    async def _sweep_sessions(self) -> None:
        while True:
            await asyncio.sleep(SESSION_SWEEP_SECONDS)
            for session in self.sessions.expire():
                await self.gateway.close_session(session)

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
            for session in self.sessions.all():
                session.outbox.close()
            for listener in list(self.gateway.listeners):
                listener.outbox.close()

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
