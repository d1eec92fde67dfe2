"""The legacy (initialize-based) session of a stdio process, and its legacy-only methods."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mcpctl.demo.errors import McpError
from mcpctl.demo.wire import INVALID_PARAMS, LEGACY_VERSIONS, LOG_LEVELS, JsonObject

if TYPE_CHECKING:
    from mcpctl.demo.context import Context


@dataclasses.dataclass
class LegacySession:
    """What initialize, logging/setLevel and resources/(un)subscribe set; one per process (stdio)."""

    version: str | None = None  # None until initialize: the process has no legacy session yet
    client_capabilities: JsonObject = dataclasses.field(default_factory=dict)
    log_level: str = "debug"  # before logging/setLevel the server may send anything
    subscriptions: set[str] = dataclasses.field(default_factory=set)


async def ping(ctx: Context) -> JsonObject:
    return {}


async def initialize(ctx: Context) -> JsonObject:
    params = ctx.request.params
    requested = params.get("protocolVersion")
    if not isinstance(requested, str):
        raise McpError(INVALID_PARAMS, "initialize needs a protocolVersion string")
    server, session = ctx.server, ctx.server.session
    capabilities = params.get("capabilities", {})
    session.client_capabilities = capabilities if isinstance(capabilities, dict) else {}
    # Echo a version we support, else offer our newest legacy one (the client may then disconnect).
    session.version = requested if requested in LEGACY_VERSIONS else LEGACY_VERSIONS[0]
    result: JsonObject = {
        "protocolVersion": session.version,
        "capabilities": server.capabilities(),
        "serverInfo": server.info,
    }
    if server.instructions:
        result["instructions"] = server.instructions
    return result


async def set_level(ctx: Context) -> JsonObject:
    level = ctx.request.params.get("level")
    if level not in LOG_LEVELS:
        raise McpError(INVALID_PARAMS, f"Invalid params: unknown log level {level!r}")
    ctx.server.session.log_level = str(level)
    return {}


async def subscribe(ctx: Context) -> JsonObject:
    ctx.server.session.subscriptions.add(_uri_param(ctx))
    return {}


async def unsubscribe(ctx: Context) -> JsonObject:
    ctx.server.session.subscriptions.discard(_uri_param(ctx))
    return {}


def _uri_param(ctx: Context) -> str:
    uri = ctx.request.params.get("uri")
    if not isinstance(uri, str):
        raise McpError(INVALID_PARAMS, "Invalid params: uri must be a string")
    return uri
