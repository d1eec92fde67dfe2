"""Why a server of the host is down: its state and the decisive line of what it printed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcpctl.client.targets import Target

LOG_TAIL_BYTES = 64 * 1024  # enough for the last run of a child; log files may be large
LOG_TAIL_LINES = 60

# What tends to say why a program failed, strongest first: the tier matched wins, and within a
# tier the last matching line (the failure ends a run; earlier lines are often warnings).
_TIERS = [
    re.compile(
        r"not found|no such file|cannot find|could not find|"
        r"permission denied|command not found|is not recognized|unknown command",
        re.IGNORECASE,
    ),
    re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b|\bE[A-Z0-9]{3,}\b"),
    re.compile(r"\berror\b|\bERR!|\bfatal\b|\bpanic\b|\bfailed\b", re.IGNORECASE),
]
# Lines that never say why: npm's pointer to its own log, bare prefixes, stack frames, our notes.
_NOISE = re.compile(
    r"complete log of this run|^\s*(npm (error|ERR!)|error:?)\s*\S{0,4}\s*$|^\s+at |^\[mcpctl ",
    re.IGNORECASE,
)
READY = "ready"


def decisive_line(lines: Sequence[str]) -> str | None:
    """The line of a child's stderr that best says why it failed (None when it printed nothing useful)."""
    useful = [line.strip() for line in lines if line.strip() and not _NOISE.search(line)]
    for tier in _TIERS:
        for line in reversed(useful):
            if tier.search(line):
                return line
    return useful[-1] if useful else None


@dataclass(frozen=True)
class DownServer:
    """A configured server of the host that is not ready, and what is known about why."""

    name: str
    state: str
    prefix: str | None
    problem: str | None  # the supervisor's lastError / lastExit
    line: str | None  # the decisive stderr line
    log: str | None  # its stderr log file

    def describe(self) -> str:
        """`server 'fs' is down (crash-loop): npm error 404 Not Found - GET ...`."""
        verb = "is starting" if self.state == "starting" else "is down"
        why = self.line or self.problem
        return f"server {self.name!r} {verb} ({self.state})" + (f": {why}" if why else "")

    def fix(self) -> str:
        logs = f"`mcpctl servers logs {self.name}`"
        where = f" ({self.log})" if self.log else ""
        return f"see {logs}{where}; `mcpctl servers restart {self.name}` retries it now"

    def owns(self, tool: str) -> bool:
        """Whether `tool` (an exposed name) would be this server's, by its prefix (a server served
        without a prefix, as `mcpctl serve -- COMMAND` does, may own any name)."""
        if self.prefix is None:
            return False
        return self.prefix == "" or tool.startswith(f"{self.prefix}__")


def down_servers(report: dict[str, Any]) -> list[DownServer]:
    """The servers of an admin report (`/admin/servers`) that are not ready."""
    down = []
    for server in report.get("servers") or []:
        if not isinstance(server, dict) or server.get("state") in (READY, None):
            continue
        stderr = [line for line in server.get("stderr") or [] if isinstance(line, str)]
        log = server.get("log") if isinstance(server.get("log"), str) else None
        lines = _log_tail(Path(log)) if log else []
        problem = server.get("lastError") or server.get("lastExit")
        down.append(
            DownServer(
                name=str(server.get("name", "?")),
                state=str(server.get("state")),
                prefix=server.get("prefix") if isinstance(server.get("prefix"), str) else None,
                problem=str(problem) if problem else None,
                line=decisive_line(lines or stderr),
                log=log,
            )
        )
    return down


def down_on(target: Target) -> list[DownServer]:
    """The target's down servers, when it is the host (all of them, or the one --server names);
    nothing when the host cannot say (a listing must not fail for want of a warning)."""
    from mcpctl.client.hostapi import servers_report
    from mcpctl.errors import McpctlError

    if target.host is None:
        return []
    try:
        down = down_servers(servers_report(target.host))
    except McpctlError:
        return []
    return [d for d in down if target.server is None or d.name == target.server]


def _log_tail(path: Path) -> list[str]:
    """The last lines of a server's stderr log (more than the host's report carries)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(size - LOG_TAIL_BYTES, 0))
            data = handle.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-LOG_TAIL_LINES:]
