"""What every deployment file is rendered from: the loaded configuration and the real `serve` command."""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass
from pathlib import Path

from mcpctl import __version__, envvars
from mcpctl.config.models import Config
from mcpctl.errors import UsageError

# Where the container image keeps things (the image is built by `mcpctl deploy container`).
CONTAINER_CONFIG = "/etc/mcpctl/mcpctl.toml"
CONTAINER_HOME = "/var/lib/mcpctl"  # $MCPCTL_HOME: state, logs and the runtime file
CONTAINER_UID = 10001
# `[state] keys` entries, as mcpctl.fleet.keys reads them
_KEY_REFERENCE = re.compile(r"^\$\{(env|keyring):([^}]+)\}$")
_SECRET_REFERENCE = re.compile(r"\$\{keyring:([^}]*)\}")


@dataclass(frozen=True)
class Facts:
    """The user's configuration as a deployment needs it."""

    config: Config
    source: Path | None  # the configuration file; None: the bundled demo server
    allow_unauthenticated: bool = False

    @property
    def version(self) -> str:
        return __version__

    @property
    def port(self) -> int:
        port = self.config.gateway.port
        if port == 0:
            raise UsageError(
                "[gateway] port = 0 picks a free port at each start: a deployment needs a fixed one",
                hint="set [gateway] port in the configuration (the default is 8765)",
            )
        return port

    @property
    def origin(self) -> str:
        """Where the file was rendered from, for a comment at its top."""
        where = f"from {self.source}" if self.source else "no configuration: the bundled demo server"
        return f"mcpctl {self.version}, {where}"

    def serve_command(self) -> list[str]:
        """The argv a container runs: `mcpctl serve` with the real command's own flag names."""
        argv = ["mcpctl", "serve"]
        if self.source is not None:
            argv += [serve_flag("config"), CONTAINER_CONFIG]
        argv += [serve_flag("host"), "0.0.0.0", serve_flag("port"), str(self.port)]  # noqa: S104
        if self._needs_unauthenticated_flag():
            argv.append(serve_flag("allow_unauthenticated"))
        return argv

    def _needs_unauthenticated_flag(self) -> bool:
        """A container listens on 0.0.0.0, which `serve` refuses without auth unless told otherwise."""
        if self.config.auth.mode != "none" or self.config.gateway.allow_unauthenticated:
            return False
        if not self.allow_unauthenticated:
            raise UsageError(
                "a container listens on every address, and the configuration has no authentication: "
                "anyone who can reach it could use every server",
                hint='configure [auth] (mode = "api-key" or "oauth"), or pass --allow-unauthenticated '
                "if the network is trusted",
            )
        return True

    def secret_env(self) -> list[str]:
        """The environment variables a fleet's instance reads its Redis and keys from (secrets, all)."""
        keys = self.config.state.keys
        if not keys:
            return [envvars.STATE_URL, envvars.FLEET_KEYS]
        names: list[str] = []
        for value in keys:
            found = _KEY_REFERENCE.match(value)
            if found is None or found.group(1) != "env":
                raise UsageError(
                    "[state] keys: a container has no keyring and no place for keys written in the file",
                    hint=f'write keys = ["${{env:NAME}}", ...] or drop them and set {envvars.FLEET_KEYS}',
                )
            names.append(found.group(2))
        return [envvars.STATE_URL, *names]

    def keyring_secrets(self) -> list[str]:
        """`${keyring:NAME}` secrets the servers need: a container has no keyring to hold them."""
        names: set[str] = set()
        for server in self.config.enabled_servers().values():
            for value in (*server.env.values(), *server.headers.values()):
                names.update(_SECRET_REFERENCE.findall(value))
        return sorted(names)

    @property
    def uses_api_keys(self) -> bool:
        return self.config.auth.mode in ("api-key", "both")

    @property
    def longest_call(self) -> float:
        """Seconds the longest call may take before mcpctl answers it (the servers' max_call_timeout)."""
        return max((s.max_call_timeout for s in self.config.enabled_servers().values()), default=0.0)

    @property
    def stop_seconds(self) -> int:
        """How long a clean stop may take: calls finish, then each child gets its shutdown_timeout."""
        children = max((s.shutdown_timeout for s in self.config.enabled_servers().values()), default=0.0)
        return math.ceil(self.config.gateway.shutdown_grace + children) + 5

    def absolute_commands(self) -> list[str]:
        """Servers' commands written as absolute paths: the image must have them at the same place."""
        if self.source is None:
            return []  # the bundled demo runs on the image's own Python
        return sorted(
            {
                s.command
                for s in self.config.enabled_servers().values()
                if s.command and s.command.startswith("/")
            }
        )

    def launchers(self) -> set[str]:
        """The programs the enabled stdio servers are started with (npx, uvx, ...)."""
        return {Path(s.command).name for s in self.config.enabled_servers().values() if s.command}


def serve_flag(parameter: str) -> str:
    """The long flag of one of `mcpctl serve`'s parameters, read from the command itself."""
    from mcpctl.cli.serve import serve

    option = inspect.signature(serve).parameters[parameter].default
    decls: tuple[str, ...] = option.param_decls
    return next(decl for decl in decls if decl.startswith("--"))


def quoted(value: str) -> str:
    """A string as a double-quoted scalar that YAML, Dockerfile JSON arrays and nginx all read alike."""
    import json

    return json.dumps(value)
