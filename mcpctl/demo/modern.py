"""Stateless 2026-07-28 handling: _meta checks, result stamping, server/discover, subscriptions/listen."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

from mcpctl.demo.errors import McpError
from mcpctl.demo.wire import (
    CACHE_SCOPES,
    INVALID_PARAMS,
    LEGACY_VERSIONS,
    LOG_LEVELS,
    META_CLIENT_CAPABILITIES,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
    MODERN_VERSIONS,
    UNSUPPORTED_PROTOCOL_VERSION,
    JsonObject,
    Request,
    RequestId,
)

if TYPE_CHECKING:
    from mcpctl.demo.context import Context


def check_meta(request: Request, mode: str, supported: list[str]) -> None:
    """Raise McpError unless a request served statelessly carries a usable per-request _meta."""
    if mode == "modern" and request.method == "initialize":
        # Legacy clients cannot fall forward, so say plainly which versions work.
        requested = request.params.get("protocolVersion")
        raise McpError(
            UNSUPPORTED_PROTOCOL_VERSION,
            f"Unsupported protocol version {requested!r}: this server speaks only "
            f"{', '.join(MODERN_VERSIONS)} (no initialize handshake)",
            {"supported": list(MODERN_VERSIONS), "requested": str(requested)},
        )
    meta = request.params.get("_meta")
    hint = "" if mode == "modern" else " (legacy clients must send initialize first)"
    if not isinstance(meta, dict):
        raise McpError(INVALID_PARAMS, f"Invalid params: missing _meta{hint}")
    for key, expected in ((META_PROTOCOL_VERSION, str), (META_CLIENT_CAPABILITIES, dict)):
        if not isinstance(meta.get(key), expected):
            raise McpError(INVALID_PARAMS, f"Invalid params: _meta[{key!r}] is missing or malformed{hint}")
    version = meta[META_PROTOCOL_VERSION]
    if version not in MODERN_VERSIONS:
        note = " (handshake versions need initialize)" if version in LEGACY_VERSIONS else ""
        raise McpError(
            UNSUPPORTED_PROTOCOL_VERSION,
            f"Unsupported protocol version: {version}{note}",
            {"supported": supported, "requested": version},
        )
    level = meta.get(META_LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        raise McpError(INVALID_PARAMS, f"Invalid params: unknown log level {level!r}")


def stamp_result(method: str, result: JsonObject, server_info: JsonObject, ttl_ms: int) -> JsonObject:
    """A modern result: resultType, serverInfo in _meta, and caching hints where the spec wants them."""
    # Copies: handlers may return shared dicts that legacy requests must see unstamped.
    result = {"resultType": "complete", **result}
    result["_meta"] = {META_SERVER_INFO: server_info, **result.get("_meta", {})}
    if result["resultType"] == "complete" and method in CACHE_SCOPES:
        result.setdefault("ttlMs", ttl_ms)
        result.setdefault("cacheScope", CACHE_SCOPES[method])
    return result


async def discover(ctx: Context) -> JsonObject:
    server = ctx.server
    result: JsonObject = {
        "supportedVersions": server.supported_versions,
        "capabilities": server.capabilities(),
    }
    if server.instructions:
        result["instructions"] = server.instructions
    return result


@dataclasses.dataclass
class Listener:
    """An open subscriptions/listen request and what it asked to hear."""

    request_id: RequestId
    flags: set[str]
    resource_uris: set[str]
    ended: asyncio.Future[None]


class Listeners:
    """The open subscriptions/listen requests of one process."""

    def __init__(self) -> None:
        self._open: dict[RequestId, Listener] = {}

    def ids(self) -> list[RequestId]:
        return list(self._open)

    def for_list(self, kind: str) -> list[RequestId]:
        """Listeners that asked for `<kind>ListChanged`."""
        return [lid for lid, listener in self._open.items() if f"{kind}ListChanged" in listener.flags]

    def for_resource(self, uri: str) -> list[RequestId]:
        return [lid for lid, listener in self._open.items() if uri in listener.resource_uris]

    def discard(self, request_id: RequestId) -> None:
        self._open.pop(request_id, None)

    def end_all(self) -> int:
        """Gracefully close every open listen (each then gets its final response)."""
        listeners = list(self._open.values())
        for listener in listeners:
            if not listener.ended.done():
                listener.ended.set_result(None)
        return len(listeners)

    async def listen(self, ctx: Context) -> JsonObject:
        """subscriptions/listen: acknowledge, then stay open until cancelled or ended."""
        wanted = ctx.request.params.get("notifications")
        if not isinstance(wanted, dict):
            raise McpError(
                INVALID_PARAMS, "Invalid params: subscriptions/listen needs a notifications object"
            )
        caps = ctx.server.capabilities()
        honoured: JsonObject = {}
        for kind in ("tools", "prompts", "resources"):
            flag = f"{kind}ListChanged"
            if wanted.get(flag) is True and kind in caps:
                honoured[flag] = True
        uris = wanted.get("resourceSubscriptions")
        if isinstance(uris, list) and "resources" in caps:
            honoured["resourceSubscriptions"] = [uri for uri in uris if isinstance(uri, str)]
        sub_id = ctx.request_id
        # The acknowledgement must be the first message carrying this subscription id.
        ctx.server.send_notification(
            "notifications/subscriptions/acknowledged",
            {"_meta": {META_SUBSCRIPTION_ID: sub_id}, "notifications": honoured},
        )
        flags = {flag for flag in honoured if flag.endswith("ListChanged")}
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        listener = Listener(sub_id, flags, set(honoured.get("resourceSubscriptions", [])), ended)
        self._open[sub_id] = listener
        try:
            await ended  # open until the client cancels it or end_all() closes it
        finally:
            if self._open.get(sub_id) is listener:
                del self._open[sub_id]
        return {"_meta": {META_SUBSCRIPTION_ID: sub_id}}
