"""MCP clients' own config files (Claude Desktop, Cursor, VS Code, Windsurf): where, and the host's entry."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENTRY = "mcpctl"  # the name the host gets in a client's server list


@dataclass(frozen=True)
class Client:
    """One client: its name on the command line, its label, and the key its file keeps servers under."""

    name: str
    label: str
    key: str  # "mcpServers" or "servers"


CLIENTS = {
    c.name: c
    for c in (
        Client("claude", "Claude Desktop", "mcpServers"),
        Client("cursor", "Cursor", "mcpServers"),
        Client("vscode", "VS Code", "servers"),
        Client("windsurf", "Windsurf", "mcpServers"),
    )
}


@dataclass(frozen=True)
class ClientFile:
    client: Client
    path: Path
    scope: str  # "user" or "project"


def candidates(
    home: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
) -> list[ClientFile]:
    """Every place the clients keep their MCP servers on this platform, the user's file first."""
    env = os.environ if environ is None else environ
    home = home or Path(env.get("HOME") or Path.home())
    cwd = cwd or Path.cwd()
    if platform == "darwin":
        app_data = home / "Library" / "Application Support"
    elif platform == "win32":
        app_data = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
    else:
        app_data = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    claude, cursor, vscode, windsurf = (CLIENTS[n] for n in ("claude", "cursor", "vscode", "windsurf"))
    return [
        ClientFile(claude, app_data / "Claude" / "claude_desktop_config.json", "user"),
        ClientFile(cursor, home / ".cursor" / "mcp.json", "user"),
        ClientFile(cursor, cwd / ".cursor" / "mcp.json", "project"),
        ClientFile(vscode, app_data / "Code" / "User" / "mcp.json", "user"),
        ClientFile(vscode, cwd / ".vscode" / "mcp.json", "project"),
        ClientFile(windsurf, home / ".codeium" / "windsurf" / "mcp_config.json", "user"),
    ]


def discover(**where: Any) -> list[ClientFile]:
    """The client files that exist (see `candidates` for the arguments)."""
    seen: set[Path] = set()
    found = []
    for item in candidates(**where):
        if item.path.is_file() and item.path.resolve() not in seen:
            seen.add(item.path.resolve())
            found.append(item)
    return found


def user_file(client: Client, **where: Any) -> Path:
    """The user-level file of `client` (where `config connect --write` adds the host)."""
    return next(c.path for c in candidates(**where) if c.client == client and c.scope == "user")


def host_entry(client: Client, url: str) -> dict[str, Any]:
    """How `client` reaches the host's Streamable HTTP endpoint at `url`."""
    if client.name == "claude":
        # Claude Desktop's file starts stdio servers only: mcp-remote bridges it to HTTP.
        return {"command": "npx", "args": ["-y", "mcp-remote", url]}
    if client.name == "vscode":
        return {"type": "http", "url": url}
    if client.name == "windsurf":
        return {"serverUrl": url}
    return {"url": url}


def snippet(client: Client, url: str) -> dict[str, Any]:
    """The JSON to merge into the client's file."""
    return {client.key: {ENTRY: host_entry(client, url)}}
