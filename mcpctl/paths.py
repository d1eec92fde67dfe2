"""Where mcpctl keeps its files: platformdirs locations, or everything under $MCPCTL_HOME."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from mcpctl import envvars
from mcpctl.fsutil import private_dir

APP = "mcpctl"


@dataclass(frozen=True)
class Paths:
    """The directories one mcpctl installation (or one test instance) uses."""

    config_dir: Path
    state_dir: Path
    log_dir: Path
    runtime_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        home = env.get(envvars.HOME)
        if home:
            root = Path(home).expanduser().resolve()
            return cls(root / "config", root / "state", root / "logs", root / "run", root / "data")
        with warnings.catch_warnings():
            # Without XDG_RUNTIME_DIR platformdirs warns and guesses; fall back to the state dir.
            warnings.simplefilter("ignore")
            runtime = (
                platformdirs.user_runtime_dir(APP)
                if env.get("XDG_RUNTIME_DIR") or sys.platform != "linux"
                else ""
            )
        if not runtime:
            runtime = str(Path(platformdirs.user_state_dir(APP)) / "run")
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP)),
            state_dir=Path(platformdirs.user_state_dir(APP)),
            log_dir=Path(platformdirs.user_log_dir(APP)),
            runtime_dir=Path(runtime),
            data_dir=Path(platformdirs.user_data_dir(APP)),
        )

    @property
    def default_config(self) -> Path:
        return self.config_dir / "mcpctl.toml"

    @property
    def host_state_file(self) -> Path:
        """Written while `mcpctl serve` runs: URL, pid and the admin token of the running host."""
        return self.runtime_dir / "host.json"

    @property
    def server_log_dir(self) -> Path:
        """Per-server stderr logs."""
        return self.log_dir / "servers"

    @property
    def audit_dir(self) -> Path:
        return self.log_dir / "audit"


def ensure_private_dir(path: Path) -> Path:
    """Create a directory (and its missing parents) readable only by the user: mcpctl's files hold
    credentials, audit records and whatever its servers print."""
    return private_dir(path)
