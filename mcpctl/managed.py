"""One configured server's supervision record: its state, its history, and the status shown of it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio

from mcpctl.backends.stderr import StderrLog
from mcpctl.config.models import ServerConfig
from mcpctl.mcpclient.connection import Connection


class ServerState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    BACKOFF = "backoff"
    CRASH_LOOP = "crash-loop"
    STOPPED = "stopped"


@dataclass(eq=False)
class ManagedServer:
    """One configured server and its supervision history."""

    name: str
    config: ServerConfig
    state: ServerState = ServerState.STARTING
    connection: Connection | None = None
    tools: int = 0  # how many tools it listed when it came up
    started_at: float | None = None  # monotonic time the current child became ready
    restarts: int = 0
    failures: deque[float] = field(default_factory=deque)
    last_exit: str = ""
    last_error: str = ""
    retry_at: float | None = None
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    restart_requested: bool = False
    era_hint: str = "auto"
    sessions: dict[str, Connection] = field(default_factory=dict)
    starting: Connection | None = None  # the connection being set up, not yet handed to the gateway
    scope: anyio.CancelScope | None = None  # its supervision loop's, while it runs
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set when its loop has ended
    stderr: StderrLog | None = None  # the latest child's, kept after it exits (why it is down)
    # in a fleet, placement = "one": run only while this instance holds the server (`take`, `release`)
    placed: bool = False
    released: bool = False  # its loop is to end (another instance runs it now)
    runs_on: str | None = None  # the instance that runs it for the fleet, when not this one
    state_there: ServerState = ServerState.READY  # its state there, as that instance published it


def elsewhere(server: ManagedServer) -> bool:
    """Another instance of the fleet runs it now (placement = "one"), and this one's child is gone."""
    return server.runs_on is not None and (server.released or server.done.is_set())


def status_report(server: ManagedServer) -> dict[str, Any]:
    """What `mcpctl servers` and the admin API show of a server."""
    connection = server.connection
    stderr = server.stderr
    now = time.monotonic()
    return {
        "name": server.name,
        "prefix": server.name if server.config.prefix is None else server.config.prefix,
        # another instance runs it for the fleet: its state there
        "state": (server.state_there if elsewhere(server) else server.state).value,
        "required": server.config.required,
        "transport": "stdio" if server.config.command else "http",
        "pid": connection.transport.pid if connection else None,
        "uptime": round(now - server.started_at, 1) if server.started_at and connection else None,
        "restarts": server.restarts,
        "era": connection.era.value if connection and connection.era else None,
        "protocolVersion": connection.protocol_version if connection else None,
        "serverInfo": connection.server_info if connection else None,
        "tools": server.tools if connection else 0,
        "sessions": len(server.sessions),
        "lastExit": server.last_exit or None,
        "lastError": server.last_error or None,
        "retryIn": round(max(server.retry_at - now, 0), 1) if server.retry_at else None,
        "stderr": stderr.tail(10) if stderr else [],
        "log": str(stderr.path) if stderr and stderr.path else None,
        "placement": "one" if server.placed else "every",
        "runsOn": server.runs_on,  # another instance of the fleet runs it (placement = "one")
    }
