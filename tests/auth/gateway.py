"""Helpers for auth tests that run a real `mcpctl serve`: a config with the probe and echo servers."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from tests.auth.conftest import PROBE, Cli
from tests.support.host import FIXTURES, PYTHON, HostProcess, start_host

RESOURCE_METADATA = "/.well-known/oauth-protected-resource/mcp"


def write_config(
    home: Path,
    *,
    auth: dict[str, Any] | None = None,
    policy: list[dict[str, Any]] | None = None,
    probe_env: dict[str, str] | None = None,
    servers: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """The default config file under `home`: servers `probe` and `echo` (tools probe__*, echo__*)."""
    config: dict[str, Any] = {
        "servers": {
            "probe": {"command": PYTHON, "args": [str(PROBE)], "env": probe_env or {}},
            "echo": {"command": PYTHON, "args": [str(FIXTURES / "echo.py")]},
            **(servers or {}),
        }
    }
    if auth:
        config["auth"] = auth
    if policy:
        config["policy"] = policy
    path = home / "config" / "mcpctl.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(config))
    return path


@contextlib.contextmanager
def serving(cli: Cli, *args: str, wait_ready: bool = True) -> Iterator[HostProcess]:
    host = start_host(cli.home, *args, env=cli.env, wait_ready=wait_ready)
    try:
        yield host
    finally:
        assert host.stop() == 0, host.output()[-3000:]


def bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


def raw_post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """One modern request with exactly the headers given (plus the protocol's own)."""
    from mcpctl.protocol.headers import standard_headers

    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {**body, "params": {**body.get("params", {}), "_meta": meta}}
    sent = {"accept": "application/json, text/event-stream", **standard_headers(body), **(headers or {})}
    return httpx.post(url, json=body, headers=sent, timeout=30)


def ping(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """The cheapest authenticated request: a 2026-07-28 server/discover."""
    return raw_post(url, {"jsonrpc": "2.0", "id": 1, "method": "server/discover"}, headers)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def text_of(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


def json_text(result: dict[str, Any]) -> Any:
    return json.loads(text_of(result))
