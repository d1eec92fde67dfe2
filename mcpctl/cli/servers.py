"""`mcpctl servers`: the host's servers (state, pid, uptime, restarts, tools, stderr); restart; logs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli import completers
from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

servers_app = new_app(
    help=(
        "Show the running host's servers: state, pid, uptime, restarts, tool count and their last "
        "stderr lines. With no host running, the configured servers are listed as not running."
    ),
    invoke_without_command=True,
)
STDERR_LINES = 3  # per server in the table; --json carries the host's full tail
START_HOST = "start it with `mcpctl serve`"
FOLLOW_POLL = 0.2  # seconds between looks at a followed log


def register(app: typer.Typer) -> None:
    app.add_typer(servers_app, name="servers")


@servers_app.callback()
def servers(
    ctx: typer.Context,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", metavar="FILE", help="Configuration to list when no host runs."),
    ] = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from mcpctl.cli.console import Console
    from mcpctl.client.hostapi import find_host, servers_report
    from mcpctl.paths import Paths

    console = Console()
    paths = Paths.from_env()
    host = find_host(paths)
    if host is not None:
        report = {"host": {"url": host.url, "pid": host.pid, "version": host.version}, **servers_report(host)}
    else:
        report = {"host": None, "servers": _configured(config, paths)}
    if as_json:
        console.json(report)
        return
    _show(console, report)


@servers_app.command("restart")
def restart(
    name: Annotated[
        str, typer.Argument(help="The server to restart.", autocompletion=completers.server_names)
    ],
) -> None:
    """Restart one server now (also ends a crash-loop's wait)."""
    from mcpctl.cli.console import Console
    from mcpctl.client.hostapi import admin, require_host, servers_report
    from mcpctl.errors import UsageError
    from mcpctl.paths import Paths

    host = require_host(Paths.from_env(), hint=START_HOST)
    names = _names(servers_report(host))
    if name not in names:
        raise UsageError(
            f"no server named {name!r} on the host", hint=_choose(name, names, "servers restart")
        )
    admin(host, "POST", f"/admin/servers/{name}/restart")
    Console().success(f"restarting {name}")


@servers_app.command("logs")
def logs(
    name: Annotated[str, typer.Argument(help="The server.", autocompletion=completers.server_names)],
    *,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C stops).")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", metavar="N", help="Only the last N lines.")
    ] = None,
) -> None:
    """A server's stderr log (what the host's child printed), like `docker logs`."""
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

    path = _log_path(name, Paths.from_env())
    console = Console()
    if tail is not None and tail < 0:
        from mcpctl.errors import UsageError

        raise UsageError("--tail must be 0 or more")
    position = _print_log(path, tail)
    if follow:
        _follow(path, position)
    elif not path.exists():
        console.info(f"{path} does not exist yet: {name} has printed nothing on stderr")


def _names(report: dict[str, Any]) -> list[str]:
    return [str(s["name"]) for s in report.get("servers", []) if isinstance(s, dict) and "name" in s]


def _choose(name: str, names: list[str], command: str) -> str:
    """A fix that runs as printed: the closest name, else every name."""
    from mcpctl.client.arguments import suggest

    if not names:
        return "the host serves no servers (see `mcpctl servers`)"
    close = suggest(name, names)
    first = (close or names)[0]
    return f"servers: {', '.join(names)}; e.g. `mcpctl {command} {first}`"


def _log_path(name: str, paths: Paths) -> Path:
    """The log of `name`: where the running host says it is, else where a host would write it."""
    from mcpctl.client.hostapi import find_host, servers_report
    from mcpctl.errors import UsageError

    host = find_host(paths)
    path = paths.server_log_dir / f"{name}.log"
    if host is not None:
        report = servers_report(host)
        listed = [s for s in report.get("servers", []) if isinstance(s, dict)]
        entry = next((s for s in listed if s.get("name") == name), None)
        if entry is None:
            hint = _choose(name, _names(report), "servers logs")
            raise UsageError(f"no server named {name!r} on the host", hint=hint)
        log = entry.get("log")
        if not isinstance(log, str):
            raise UsageError(f"server {name!r} has no stderr log", hint="only stdio servers print to stderr")
        return Path(log)
    if not path.exists():
        known = sorted(p.stem for p in paths.server_log_dir.glob("*.log"))
        hint = _choose(name, known, "servers logs") if known else START_HOST
        raise UsageError(f"no log for a server named {name!r} in {paths.server_log_dir}", hint=hint)
    return path


def _print_log(path: Path, tail: int | None) -> int:
    """Print the log (or its last `tail` lines); returns where it ended, to follow from there."""
    import sys

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    if tail is not None:
        lines = data.splitlines(keepends=True)
        shown = b"".join(lines[-tail:]) if tail else b""
    else:
        shown = data
    sys.stdout.buffer.write(shown)
    sys.stdout.buffer.flush()
    return len(data)


def _follow(path: Path, position: int) -> None:
    """Print what is appended to `path` until Ctrl-C; starts over when the log is rotated."""
    import sys
    import time

    inode = path.stat().st_ino if path.exists() else None
    while True:
        try:
            stat = path.stat()
        except FileNotFoundError:
            time.sleep(FOLLOW_POLL)
            continue
        if stat.st_ino != inode or stat.st_size < position:  # rotated (or truncated): the new file
            inode, position = stat.st_ino, 0
        if stat.st_size > position:
            with path.open("rb") as handle:
                handle.seek(position)
                chunk = handle.read(stat.st_size - position)
            position += len(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            time.sleep(FOLLOW_POLL)


def _configured(config: Path | None, paths: Any) -> list[dict[str, Any]]:
    from mcpctl.cli.common import config_path, load

    path = config_path(config, paths)
    if path is None or not path.exists():
        return []
    cfg = load(path)
    return [
        {
            "name": name,
            "state": "not running" if server.enabled else "disabled",
            "transport": "stdio" if server.command else "http",
            "pid": None,
            "uptime": None,
            "restarts": 0,
            "tools": None,
            "stderr": [],
        }
        for name, server in cfg.servers.items()
    ]


def _show(console: Console, report: dict[str, Any]) -> None:
    from mcpctl.client.diagnose import down_servers

    host = report.get("host")
    servers = [s for s in report.get("servers", []) if isinstance(s, dict)]
    if host is None:
        console.info("no mcpctl host is running" + (" (configured servers below)" if servers else ""))
    else:
        console.info(f"mcpctl host {host.get('url')} (pid {host.get('pid')})")
    if not servers:
        if host is None:
            console.info("no servers configured (see `mcpctl config path`)")
        return
    down = {d.name: d for d in down_servers(report)} if host is not None else {}
    rows = []
    for server in servers:
        name = str(server.get("name", "?"))
        tail = [line for line in server.get("stderr") or [] if isinstance(line, str)][-STDERR_LINES:]
        problem = server.get("lastError") or server.get("lastExit")
        notes = ([f"({problem})"] if problem else []) + tail
        if isinstance(server.get("runsOn"), str):  # placement = "one": another instance runs it
            notes = [f"runs on instance {server['runsOn']}", *notes]
        line = down[name].line if name in down else None
        if line:  # the line that says why first; the supervisor's words without their own stderr quote
            brief = str(problem).split("; stderr: ")[0] if problem else ""
            notes = [line] + ([f"({brief})"] if brief else [])
        rows.append(
            [
                name,
                str(server.get("state", "?")),
                _dash(server.get("pid")),
                _duration(server.get("uptime")),
                _dash(server.get("restarts")),
                _breaker(server.get("breaker")),
                _dash(server.get("tools")),
                "\n".join(notes),
            ]
        )
    console.table(rows, ["SERVER", "STATE", "PID", "UPTIME", "RESTARTS", "BREAKER", "TOOLS", "LAST STDERR"])
    for collision in [c for c in report.get("collisions", []) if isinstance(c, str)]:
        console.warn(f"name collision: {collision}")
    for broken in down.values():
        console.warn(f"{broken.describe()}\n  fix: {broken.fix()}")
    logs = [s.get("log") for s in servers if isinstance(s.get("log"), str)]
    if logs:
        console.info(f"stderr logs: {Path(str(logs[0])).parent}/NAME.log (`mcpctl servers logs NAME [-f]`)")


def _breaker(value: object) -> str:
    """The circuit breaker's state, and when it lets calls through again ("open 25s")."""
    if not isinstance(value, dict):
        return "-"
    state, retry = str(value.get("state", "?")), value.get("retryIn")
    return f"{state} {retry:.0f}s" if isinstance(retry, int | float) else state


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
