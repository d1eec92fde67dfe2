"""Dynamic shell completion: tool names from the running host, server names from it or the config."""

from __future__ import annotations

import json
from typing import Any

import typer

COMPLETION_TIMEOUT = 2.0  # a TAB press must not hang on a slow or stuck host


def server_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Servers the host runs and servers the configuration names; silently nothing on failure."""
    names: set[str] = set()
    try:
        from mcpctl.client.hostapi import find_host, servers_report
        from mcpctl.paths import Paths

        paths = Paths.from_env()
        host = find_host(paths)
        if host is not None:
            report = servers_report(host)
            names.update(
                s["name"]
                for s in report.get("servers", [])
                if isinstance(s, dict) and isinstance(s.get("name"), str)
            )
        from mcpctl.cli.common import config_path, load

        path = config_path(ctx.params.get("config"), paths)
        if path is not None and path.exists():
            names.update(load(path).servers)
    except Exception:  # completion must never print a traceback into the shell
        return sorted(n for n in names if n.startswith(incomplete))
    return sorted(n for n in names if n.startswith(incomplete))


def tool_names(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Tools of the command's target when that is cheap to ask (a host or a URL; never a new process)."""
    try:
        tools = _tools(ctx)
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [
        (name, _short(entry.get("description")))
        for name, entry in sorted(tools.items())
        if name.startswith(incomplete)
    ]


def argument_names(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """`key=` for the tool's arguments not given yet (required ones first); after `key=`, the values
    an enum or a boolean allows."""
    try:
        tool = ctx.params.get("tool")
        entry = _tools(ctx).get(tool) if isinstance(tool, str) else None
    except Exception:  # completion must never print a traceback into the shell
        return []
    schema = entry.get("inputSchema") if entry else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    required = schema.get("required") if isinstance(schema, dict) else None
    needed = set(required) if isinstance(required, list) else set()
    key, sep, _ = incomplete.partition("=")
    if sep:
        return [
            (f"{key}={v}", "") for v in _values(properties.get(key)) if f"{key}={v}".startswith(incomplete)
        ]
    given = {p.split("=", 1)[0].removesuffix(":") for p in ctx.params.get("pairs") or []}
    order = sorted(properties, key=lambda name: (name not in needed, name))
    return [
        (f"{name}=", ("(required) " if name in needed else "") + _short(_describe(properties[name])))
        for name in order
        if name not in given and name.startswith(incomplete)
    ]


def _values(schema: object) -> list[str]:
    if not isinstance(schema, dict):
        return []
    if isinstance(schema.get("enum"), list):
        return [v if isinstance(v, str) else json.dumps(v) for v in schema["enum"]]
    return ["true", "false"] if schema.get("type") == "boolean" else []


def _describe(schema: object) -> str:
    if not isinstance(schema, dict):
        return ""
    kind = schema.get("type")
    text = schema.get("description") if isinstance(schema.get("description"), str) else ""
    return f"{kind}: {text}" if isinstance(kind, str) and text else str(kind or text or "")


def _tools(ctx: typer.Context) -> dict[str, dict[str, Any]]:
    """The target's tools by the names a person types (a host or a URL only; never a new process)."""
    import asyncio
    from pathlib import Path

    from mcpctl.cli.clientopts import dash_command, target_of
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.elicit import RefusingElicitor
    from mcpctl.client.session import ClientSession

    if dash_command(ctx):
        return {}
    target = target_of(
        ctx,
        ctx.params.get("url"),
        ctx.params.get("server"),
        ctx.params.get("config"),
        ctx.params.get("headers") or [],
        ctx.params.get("key"),
    )
    if target.host is None and not ctx.params.get("url"):
        return {}  # a configured server without a host would have to be started: too slow for TAB

    def quiet(message: str) -> None:
        return None

    answerer = CliAnswerer(
        target.endpoint.label, roots=[Path.cwd()], elicitor=RefusingElicitor("completing"), warn=quiet
    )

    async def listing() -> list[dict[str, Any]]:
        async with ClientSession(target.endpoint, answerer, startup_timeout=COMPLETION_TIMEOUT) as session:
            return await asyncio.wait_for(session.list("tools"), COMPLETION_TIMEOUT)

    tools = asyncio.run(asyncio.wait_for(listing(), COMPLETION_TIMEOUT * 2))
    by_name = {t.get("name"): t for t in tools}
    names = target.names([n for n in by_name if isinstance(n, str)])
    return {shown: by_name[wire] for shown, wire in names.items()}


def _short(description: object) -> str:
    if not isinstance(description, str):
        return ""
    line = description.strip().splitlines()[0] if description.strip() else ""
    return line if len(line) <= 60 else line[:57] + "..."
