"""Where a configuration comes from: --config, $MCPCTL_CONFIG or the default file; a bare command's name."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from mcpctl import envvars
from mcpctl.paths import Paths


def config_path(option: Path | None, paths: Paths, environ: Mapping[str, str] | None = None) -> Path | None:
    """--config, else $MCPCTL_CONFIG, else the default file if it exists."""
    if option is not None:
        return option
    env = (os.environ if environ is None else environ).get(envvars.CONFIG)
    if env:
        return Path(env)
    return paths.default_config if paths.default_config.exists() else None


_LAUNCHERS = frozenset(
    {"npx", "uvx", "pipx", "bunx", "uv", "python", "python3", "node", "deno", "bun", "sh", "bash"}
)


def _is_launcher(program: str) -> bool:
    # python3.13, python3.12, pypy3.10, node22: versioned names of the same launchers
    return program in _LAUNCHERS or re.fullmatch(r"(python|pypy|node)[0-9.]*", program) is not None


def derive_name(command: list[str]) -> str:
    """A readable server name from a command: `npx -y @scope/server-x@1` -> `server-x`."""
    args = command[1:]
    if "-m" in args[:-1]:
        token = args[args.index("-m") + 1]  # python -m package.module
    else:
        positional = [a for a in args if not a.startswith("-")]
        token = positional[0] if _is_launcher(Path(command[0]).name) and positional else command[0]
    name = token.rstrip("/").rsplit("/", 1)[-1].split("@")[0]
    name = re.sub(r"\.(py|js|mjs|cjs|ts)$", "", name)
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:32] or "server"
