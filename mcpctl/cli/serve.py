"""`mcpctl serve`: supervise stdio servers and serve them as one Streamable HTTP endpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mcpctl import envvars

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.config.models import Config


def register(app: typer.Typer) -> None:
    app.command(
        "serve",
        context_settings={"allow_interspersed_args": False},
        help=(
            "Serve MCP servers on one local Streamable HTTP endpoint (/mcp).\n\n"
            "With -- COMMAND ARGS..., that one stdio server is bridged as is (no prefix). "
            "With a config, every server's tools and prompts are aggregated under its prefix. "
            "With neither, a bundled demo server is served."
        ),
    )(serve)


def serve(
    command: list[str] | None = typer.Argument(
        None, metavar="[-- COMMAND ARGS...]", help="A stdio server to bridge."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        metavar="FILE",
        help=f"Configuration file (TOML or mcpServers JSON). Env: {envvars.CONFIG}.",
    ),
    host: str | None = typer.Option(
        None, "--host", metavar="HOST", help="Address to listen on (default 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", "-p", metavar="PORT", help="Port to listen on (default 8765; 0 picks a free one)."
    ),
    name: str | None = typer.Option(
        None, "--name", metavar="NAME", help="Name of the bridged server (default: from the command)."
    ),
    allow_unauthenticated: bool = typer.Option(
        False,
        "--allow-unauthenticated",
        help="Allow listening on a non-loopback address without authentication.",
    ),
    log_level: str = typer.Option(
        "info", "--log-level", metavar="LEVEL", help="debug, info, warning or error."
    ),
    auth: str | None = typer.Option(
        None,
        "--auth",
        metavar="MODE",
        help="Authentication: none, api-key, oauth or both (overrides [auth] mode).",
    ),
    isolation: str | None = typer.Option(
        None,
        "--isolation",
        metavar="MODE",
        help="With -- COMMAND: shared (one child for every client, the default) or session (a child per "
        "2025-era session, for servers that keep what one client tells them).",
    ),
    state: str | None = typer.Option(
        None,
        "--state",
        metavar="URL",
        help=f"Fleet state: redis://HOST:PORT/DB (overrides [state] url). Env: {envvars.STATE_URL}.",
    ),
) -> None:
    import logging

    from mcpctl.cli.common import config_path
    from mcpctl.cli.console import Console
    from mcpctl.errors import UsageError
    from mcpctl.hoststate import read_host_state
    from mcpctl.paths import Paths

    console = Console()
    paths = Paths.from_env()
    _setup_logging(log_level)
    path = config_path(config, paths)
    cfg, bridge = _chosen_config(command, config, path, name, isolation, console)
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if allow_unauthenticated:
        overrides["allow_unauthenticated"] = True
    if overrides:
        cfg = cfg.model_copy(update={"gateway": cfg.gateway.model_copy(update=overrides)})
    if auth is not None:
        if auth not in ("none", "api-key", "oauth", "both"):
            raise UsageError(f"unknown --auth mode {auth!r}", hint="use none, api-key, oauth or both")
        cfg = cfg.model_copy(update={"auth": cfg.auth.model_copy(update={"mode": auth})})
    cfg = _with_state(cfg, state or os.environ.get(envvars.STATE_URL))
    _check_exposure(cfg)
    if cfg.auth.mode == "none":
        from mcpctl.loopback import is_loopback_host

        loopback = is_loopback_host(cfg.gateway.host)
        who = "every local user and process" if loopback else "ANYONE ON THE NETWORK"
        console.warn(
            f"authentication is OFF (auth mode none): {who} reaching {cfg.gateway.host} can call every "
            "server; use --auth api-key (keys from `mcpctl keys create`) or configure [auth]"
        )
    running = read_host_state(paths.host_state_file)
    if running is not None:
        raise UsageError(
            f"mcpctl is already serving at {running.url} (pid {running.pid})",
            hint=f"stop it first, or set {envvars.HOME} to run another instance beside it",
        )
    from mcpctl.host import Host
    from mcpctl.parts import default_builders

    host_ = Host(
        cfg,
        paths,
        bridge=bridge,
        builders=default_builders(),
        config_source=str(path) if path and not command else "",
    )
    _run(host_.serve())
    logging.shutdown()


def _chosen_config(
    command: list[str] | None,
    config: Path | None,
    path: Path | None,
    name: str | None,
    isolation: str | None,
    console: Console,
) -> tuple[Config, str | None]:
    """The configuration to serve: a bare command's, the file's, or the bundled demo's."""
    from mcpctl.cli.common import bridge_config, demo_config, load
    from mcpctl.errors import UsageError

    if command:
        if config is not None:
            raise UsageError("give either --config or -- COMMAND, not both")
        return bridge_config(list(command), name, isolation=isolation or "shared")
    if isolation is not None:
        raise UsageError(
            "--isolation is for a bare command (mcpctl serve --isolation session -- COMMAND)",
            hint='in a config file, set it per server: [servers.NAME] isolation = "session"',
        )
    if path is not None:
        return load(path), None
    console.info("no configuration found: serving the bundled demo server (see `mcpctl serve --help`)")
    return demo_config(), None


def _check_exposure(cfg: object) -> None:
    from mcpctl.config.models import Config
    from mcpctl.errors import UsageError
    from mcpctl.loopback import is_loopback_host

    assert isinstance(cfg, Config)
    authenticated = cfg.auth.mode != "none"
    if not is_loopback_host(cfg.gateway.host) and not authenticated and not cfg.gateway.allow_unauthenticated:
        raise UsageError(
            f"refusing to listen on {cfg.gateway.host} without authentication: "
            "anyone who can reach it could use every server",
            hint="pass --auth api-key (keys from `mcpctl keys create`) or configure [auth], "
            "or pass --allow-unauthenticated if the network is trusted",
        )


def _setup_logging(level: str) -> None:
    import logging

    from mcpctl.errors import UsageError

    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise UsageError(f"unknown log level {level!r}", hint="use debug, info, warning or error")
    logging.basicConfig(
        level=numeric, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )


def _run(coro: object) -> None:
    """Run on uvloop where available (the hot path's event loop), else on asyncio's."""
    import asyncio
    from collections.abc import Coroutine
    from typing import Any, cast

    main = cast(Coroutine[Any, Any, None], coro)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _with_state(cfg: Config, url: str | None) -> Config:
    """The fleet's state store from --state or the environment, checked as the config file's would be."""
    from mcpctl.config.models import Config

    if not url:
        return cfg
    return Config.model_validate({**cfg.model_dump(), "state": {**cfg.state.model_dump(), "url": url}})
