"""Start a real host from a configuration written as a dict (TOML on disk), for limits and metrics tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import tomli_w

from tests.support.host import PYTHON, ROOT, HostProcess, start_host

CHATTY = ROOT / "tests" / "limits" / "chatty.py"


def stdio_server(command: list[str], **settings: Any) -> dict[str, Any]:
    """A [servers.X] table: `command` (e.g. `fixture("slow.py")`) plus any settings."""
    return {"command": command[0], "args": command[1:], **settings}


def chatty() -> list[str]:
    return [PYTHON, str(CHATTY)]


def serve_config(home: Path, config: dict[str, Any], **options: Any) -> HostProcess:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "mcpctl.toml"
    path.write_text(tomli_w.dumps(config))
    return start_host(home, "--config", str(path), **options)


def ready(host: HostProcess) -> dict[str, Any]:
    return httpx.get(host.base_url + "/ready", timeout=5).json()  # type: ignore[no-any-return]


def server_status(host: HostProcess, name: str) -> dict[str, Any]:
    """One server's entry in /ready."""
    return next(s for s in ready(host)["servers"] if s["name"] == name)


def admin_servers(host: HostProcess) -> dict[str, Any]:
    """The admin API that `mcpctl servers` reads."""
    response = httpx.get(
        host.base_url + "/admin/servers", headers={"authorization": f"Bearer {host.admin_token}"}, timeout=5
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]
