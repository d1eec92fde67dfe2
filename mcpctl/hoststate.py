"""The running host's state file: how other commands find `mcpctl serve` (URL, pid, admin token)."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class HostState:
    url: str
    pid: int
    started: float
    admin_token: str  # for the local admin API; the file is 0600 in a 0700 directory
    version: str
    config: str = ""

    @property
    def base_url(self) -> str:
        return self.url.rsplit("/mcp", 1)[0]


def write_host_state(path: Path, state: HostState) -> None:
    from mcpctl.fsutil import write_atomically  # here: readers (a fast `mcpctl call`) need not import it

    write_atomically(path, json.dumps(asdict(state), indent=2) + "\n", mode=0o600)


def read_host_state(path: Path) -> HostState | None:
    """The state of a host that is still running, or None (a stale file is ignored)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = HostState(**data)
    except (OSError, ValueError, TypeError):
        return None
    return state if pid_alive(state.pid) else None


def clear_host_state(path: Path, pid: int) -> None:
    """Remove the file if it is ours (a newer host may have replaced it)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
