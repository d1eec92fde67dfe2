"""What several commands share: finding the configuration, the paths, the running host."""

from __future__ import annotations

import sys
from pathlib import Path

from mcpctl.config.models import ISOLATIONS, Config, ServerConfig
from mcpctl.config.sources import config_path, derive_name
from mcpctl.errors import UsageError

__all__ = ["bridge_config", "config_path", "demo_config", "derive_name", "load"]


def load(path: Path) -> Config:
    from mcpctl.config.loader import load_config

    return load_config(path)


def demo_config() -> Config:
    """The embedded default: a bundled demo server, so `mcpctl serve` works on a fresh machine."""
    return Config(servers={"demo": ServerConfig(command=sys.executable, args=["-m", "mcpctl.demo"])})


def bridge_config(
    command: list[str], name: str | None, base: Config | None = None, isolation: str = "shared"
) -> tuple[Config, str]:
    """`mcpctl serve -- COMMAND ARGS...`: one server, served without a prefix."""
    server_name = name or derive_name(command)
    if isolation not in ISOLATIONS:
        raise UsageError(
            f"unknown --isolation {isolation!r}",
            hint="use shared (one child for every client) or session (a child per 2025-era session)",
        )
    server = ServerConfig(command=command[0], args=command[1:], prefix="", isolation=isolation)
    gateway = base.gateway if base is not None else Config().gateway
    return Config(gateway=gateway, servers={server_name: server}), server_name
