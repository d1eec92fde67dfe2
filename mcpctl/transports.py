"""Which transport each configured server gets: a stdio child, or a remote URL (with its OAuth login)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.backends.stdio import StdioSpec, StdioTransport
from mcpctl.config.models import ServerConfig
from mcpctl.paths import Paths
from mcpctl.supervisor import TransportFactory


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
