"""Read the de facto client JSON shape (Claude Desktop, Cursor, VS Code) and write mcpctl TOML."""

from __future__ import annotations

import re
from collections.abc import Callable
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


# Names of env variables and headers whose values are credentials: they go to the keyring.
SECRET_NAME = re.compile(r"token|key|secret|passw(or)?d|pwd|authorization|credential", re.IGNORECASE)
_SCHEME = re.compile(r"^(Bearer|Basic|Token|Bot)\s+(\S.*)$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^\$\{[^}]*\}$")  # ${keyring:x}, ${env:X}: a reference, not a value


def extract_secrets(
    config: dict[str, Any], fits: Callable[[str, str], bool] = lambda name, value: True
) -> tuple[dict[str, Any], dict[str, str]]:
    """Move secret-looking env and header values out of an imported config.

    Returns the config with each such value replaced by `${keyring:NAME}` (a header keeps its
    scheme: `Bearer ${keyring:NAME}`), and NAME -> value for the keyring. Names are the server's
    and the variable's (`github_personal_access_token`); `fits(name, value)` says whether the
    keyring may take a name (unused, or holding that same value), else `_2`, `_3`... is tried.
    """
    out = {key: value for key, value in config.items() if key != "servers"}
    servers: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for server, entry in (config.get("servers") or {}).items():
        moved = dict(entry)
        for field in ("env", "headers"):
            values = entry.get(field)
            if not isinstance(values, dict):
                continue
            moved[field] = {
                key: _move(server, key, value, secrets, fits)
                if isinstance(value, str) and SECRET_NAME.search(key)
                else value
                for key, value in values.items()
            }
        servers[server] = moved
    out["servers"] = servers
    return out, secrets


def _move(
    server: str, key: str, value: str, secrets: dict[str, str], fits: Callable[[str, str], bool]
) -> str:
    """The reference that replaces `value` (which goes to `secrets`), or `value` when it is none."""
    text = value.strip()
    if not text or _PLACEHOLDER.match(text):
        return value
    scheme = _SCHEME.match(text)
    if scheme and _PLACEHOLDER.match(scheme.group(2)):
        return value
    secret = scheme.group(2) if scheme else value
    base = secret_name(server, key)
    name, count = base, 2
    while (name in secrets and secrets[name] != secret) or not fits(name, secret):
        name, count = f"{base}_{count}", count + 1
    secrets[name] = secret
    return f"{scheme.group(1)} ${{keyring:{name}}}" if scheme else f"${{keyring:{name}}}"


def secret_name(server: str, key: str) -> str:
    """`github` + `GITHUB_PERSONAL_ACCESS_TOKEN` -> `github_personal_access_token`."""
    base_key = re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("_").lower()
    server_part = re.sub(r"[^A-Za-z0-9_.-]+", "_", server).strip("_").lower()
    name = base_key if base_key.startswith(server_part + "_") else f"{server_part}_{base_key}"
    return name[:120] or "secret"
