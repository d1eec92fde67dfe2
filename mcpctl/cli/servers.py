"""`mcpctl servers`: the host's servers (state, pid, uptime, restarts, tools, stderr); `servers restart`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli import completers
from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.cli.console import Console

servers_app = new_app(
    help=(
        "Show the running host's servers: state, pid, uptime, restarts, tool count and their last "
        "stderr lines. With no host running, the configured servers are listed as not running."
    ),
    invoke_without_command=True,
)
STDERR_LINES = 3  # per server in the table; --json carries the host's full tail


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
    from mcpctl.client.hostapi import admin, require_host
    from mcpctl.paths import Paths

    host = require_host(Paths.from_env())
    admin(host, "POST", f"/admin/servers/{name}/restart")
    Console().success(f"restarting {name}")


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
    from rich.table import Table

    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="bold")
    for column in ("SERVER", "STATE", "PID", "UPTIME", "RESTARTS", "BREAKER", "TOOLS", "LAST STDERR"):
        table.add_column(column, no_wrap=column != "LAST STDERR", overflow="fold")
    for server in servers:
        tail = [line for line in server.get("stderr") or [] if isinstance(line, str)][-STDERR_LINES:]
        problem = server.get("lastError") or server.get("lastExit")
        notes = ([f"({problem})"] if problem else []) + tail
        table.add_row(
            str(server.get("name", "?")),
            str(server.get("state", "?")),
            _dash(server.get("pid")),
            _duration(server.get("uptime")),
            _dash(server.get("restarts")),
            _breaker(server.get("breaker")),
            _dash(server.get("tools")),
            "\n".join(notes),
        )
    console.out.print(table)
    collisions = [c for c in report.get("collisions", []) if isinstance(c, str)]
    for collision in collisions:
        console.warn(f"name collision: {collision}")


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
