"""The index of logins (no secrets): which servers have one, for status and lookups without the keyring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcpctl.oauth.urls import canonical_resource
from mcpctl.paths import Paths

INDEX_FILE = "oauth-logins.json"


def index_path(paths: Paths) -> Path:
    return paths.state_dir / INDEX_FILE


def read_index(path: Path) -> dict[str, dict[str, Any]]:
    """URL -> summary; a missing or unreadable index is an empty one (blocking: small file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    logins = data.get("logins") if isinstance(data, dict) else None
    if not isinstance(logins, dict):
        return {}
    return {url: entry for url, entry in logins.items() if isinstance(entry, dict)}


def find_entry(path: Path, url: str) -> dict[str, Any] | None:
    """The login summary for a server URL: by the URL it was made for, else by its resource."""
    logins = read_index(path)
    key = canonical_resource(url)
    if key in logins:
        return logins[key]
    return next((e for e in logins.values() if e.get("resource") == key), None)
