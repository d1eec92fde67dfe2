"""A fleet for tests: a real Redis and three `mcpctl serve` instances sharing it and a fleet key."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.host import HostProcess, base_env, start_host, write_config
from tests.support.mcp_http import ACCEPT, LegacyClient
from tests.support.redis import RedisServer, redis_server  # noqa: F401 (a fixture)

ECHO = """
[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py", "--era", "legacy"]

[servers.slow]
command = "{python}"
args = ["{fixtures}/slow.py"]
"""

# a shared 2025-era child that asks its client things (sampling, elicitation, roots)
ASKER = """
[servers.asker]
command = "{python}"
args = ["{fixtures}/asker.py", "--era", "legacy"]
"""


def fleet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Fleet:
    redis: RedisServer
    hosts: list[HostProcess]
    key: str

    def stop(self) -> None:
        for host in self.hosts:
            host.stop()


def start_fleet(
    tmp_path: Path, redis: RedisServer, count: int = 3, config: str = ECHO, key: str | None = None
) -> Fleet:
    key = key or fleet_key()
    hosts: list[HostProcess] = []
    try:
        for index in range(count):
            home = tmp_path / f"instance-{index}"
            path = write_config(home, config)
            env = base_env(home, MCPCTL_FLEET_KEYS=key)
            hosts.append(start_host(home, "--config", str(path), "--state", redis.url, env=env))
    except BaseException:
        for host in hosts:
            host.stop()
        raise
    return Fleet(redis, hosts, key)


@pytest.fixture
def fleet(tmp_path: Path, redis_server: RedisServer) -> Iterator[Fleet]:  # noqa: F811
    running = start_fleet(tmp_path, redis_server)
    yield running
    running.stop()


def on(client: LegacyClient, url: str) -> LegacyClient:
    """The same session, talking to another instance."""
    client.url = url
    return client


def stream_call(
    url: str, client: LegacyClient, body: dict[str, Any]
) -> tuple[threading.Thread, list[dict[str, Any]]]:
    """POST `body` on `client`'s session and collect what its SSE stream says, in a thread."""
    seen: list[dict[str, Any]] = []

    def run() -> None:
        headers = {**client.headers(), "accept": ACCEPT}
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        seen.append(orjson.loads(line[6:]))
        except httpx.HTTPError as exc:  # the instance went away mid-call (a test kills one)
            seen.append({"transport_error": str(exc)})

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, seen
