"""A real host with a written configuration, and its audit trail read back after it stops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from tests.support.host import HostProcess, fixture, start_host


def server(name: str, *args: str, **settings: Any) -> dict[str, Any]:
    command = fixture(name, *args)
    return {"command": command[0], "args": command[1:], **settings}


@contextmanager
def hosting(home: Path, servers: dict[str, dict[str, Any]], **sections: Any) -> Iterator[HostProcess]:
    """`mcpctl serve --config` with these servers and sections; stopped (and its trail flushed) after."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "mcpctl.toml"
    path.write_text(tomli_w.dumps({"servers": servers, **sections}))
    host = start_host(home, "--config", str(path))
    try:
        yield host
    finally:
        assert host.stop() == 0, host.output()[-3000:]


def audit_dir(home: Path) -> Path:
    return home / "logs" / "audit"


def trail(home: Path) -> list[dict[str, Any]]:
    """Every record in every file of the trail, oldest first."""
    from mcpctl.audit.files import audit_files

    return [
        json.loads(line) for path in audit_files(audit_dir(home)) for line in path.read_bytes().splitlines()
    ]


def calls(home: Path) -> list[dict[str, Any]]:
    from mcpctl.audit.schema import CALL_KINDS

    return [r for r in trail(home) if r["kind"] in CALL_KINDS]
