"""Read the de facto client JSON shape (Claude Desktop, Cursor, VS Code) and write mcpctl TOML."""

from __future__ import annotations

from typing import Any

import tomli_w

from mcpctl.errors import ConfigError

# Keys that clients put on a server entry and that mcpctl has no use for: accepted and dropped.
_IGNORED_KEYS = frozenset(
    {"disabled", "autoApprove", "alwaysAllow", "timeout", "envFile", "description", "gallery"}
)
_TYPES = {"stdio": None, "http": "streamable-http", "streamable-http": "streamable-http", "sse": "sse"}


def from_client_json(shown: str, raw: object) -> dict[str, Any]:
    """Convert `{"mcpServers": {...}}` (or VS Code's `{"servers": {...}}`) to mcpctl's config shape."""
    if not isinstance(raw, dict):
        raise ConfigError(
            shown, "(top level)", "expected a JSON object", 'wrap the servers in {"mcpServers": {...}}'
        )
    key = servers_key(raw)
    if key is None:
        raise ConfigError(
            shown,
            "(top level)",
            "no `mcpServers` (or `servers`) object found",
            'use {"mcpServers": {"name": {...}}}',
        )
    servers = raw[key]
    if not isinstance(servers, dict):
        raise ConfigError(
            shown, key, "expected an object of servers by name", f'use "{key}": {{"name": {{...}}}}'
        )
    converted: dict[str, Any] = {}
    for name, entry in servers.items():
        converted[name] = _server_entry(shown, f"{key}.{name}", entry)
    return {"servers": converted}


def servers_key(raw: object) -> str | None:
    """Where a client's JSON keeps its servers: `mcpServers` (Claude, Cursor) or `servers` (VS Code)."""
    if not isinstance(raw, dict):
        return None
    return "mcpServers" if "mcpServers" in raw else "servers" if "servers" in raw else None


def _server_entry(shown: str, field: str, entry: object) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(shown, field, "expected an object", 'use {"command": "...", "args": [...]}')
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in ("command", "args", "env", "cwd", "url", "headers"):
            out[key] = value
        elif key == "type":
            if value not in _TYPES:
                raise ConfigError(shown, f"{field}.type", f"unknown type {value!r}", "use stdio, http or sse")
            if _TYPES[value]:
                out["transport"] = _TYPES[value]
        elif key == "disabled":
            out["enabled"] = not bool(value)
        elif key in _IGNORED_KEYS:
            continue
        else:
            out[key] = value  # unknown keys are validated (and refused with a fix) by the model
    return out


def to_toml(config: dict[str, Any]) -> str:
    """Render a config dict as TOML with a short header."""
    header = "# mcpctl configuration (see README, Configuration)\n\n"
    return header + tomli_w.dumps(config)
