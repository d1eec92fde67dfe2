"""What the gateway answers itself: its self-description, the aggregated lists, listen acknowledgements."""

from __future__ import annotations

from typing import Any, Final

from mcpctl.protocol.eras import ALL_VERSIONS, META_SERVER_INFO, META_SUBSCRIPTION_ID
from mcpctl.protocol.jsonrpc import Message, RequestId, params_of
from mcpctl.protocol.pagination import paginate
from mcpctl.router.context import ClientContext
from mcpctl.router.links import Link
from mcpctl.router.streams import Listener

# list method -> (catalog kind, result key)
LISTS: Final = {
    "tools/list": ("tools", "tools"),
    "prompts/list": ("prompts", "prompts"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resourceTemplates", "resourceTemplates"),
}
# what names an entry of each kind, for policy (exposed names and URIs)
NAMED_BY: Final = {"tools": "name", "prompts": "name", "resources": "uri", "resourceTemplates": "uriTemplate"}
LIST_TTL_MS: Final = 60_000  # modern list results: how long a client may cache (list_changed still arrives)
GATEWAY_CAPABILITIES: Final = {
    "tools": {"listChanged": True},
    "prompts": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "logging": {},
    "completions": {},
}


def capabilities(bridged: Link | None) -> dict[str, Any]:
    """A bridge shows its one server's capabilities (plus logging, which it emulates); else the gateway's."""
    if bridged is not None:
        caps = dict(bridged.capabilities)
        caps.setdefault("logging", {})
        return caps
    return {kind: dict(value) for kind, value in GATEWAY_CAPABILITIES.items()}


def server_info(bridged: Link | None, version: str) -> dict[str, Any]:
    if bridged is not None and bridged.description.server_info:
        return bridged.description.server_info
    return {"name": "mcpctl", "title": "mcpctl gateway", "version": version}


def instructions(links: dict[str, Link], bridge: str | None) -> str:
    parts = []
    for name, link in links.items():
        text = link.description.instructions
        if text:
            parts.append(text if bridge else f"## {name}\n{text}")
    return "\n\n".join(parts)


def discover_result(
    caps: dict[str, Any], info: dict[str, Any], text: str, cache_scope: str
) -> dict[str, Any]:
    body = {
        "resultType": "complete",
        "supportedVersions": list(ALL_VERSIONS),
        "capabilities": caps,
        "_meta": {META_SERVER_INFO: info},
        "ttlMs": LIST_TTL_MS,
        "cacheScope": cache_scope,
    }
    if text:
        body["instructions"] = text
    return body


def list_result(
    method: str, entries: list[dict[str, Any]], cursor: object, page_size: int, modern: bool, cache_scope: str
) -> dict[str, Any]:
    """One page of an aggregated list; InvalidCursor for a cursor we did not mint."""
    kind, key = LISTS[method]
    page, next_cursor = paginate(kind, entries, cursor, page_size)
    body: dict[str, Any] = {key: page}
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    if modern:
        body.update(resultType="complete", ttlMs=LIST_TTL_MS, cacheScope=cache_scope)
    return body


def listener_for(ctx: ClientContext, msg: Message) -> tuple[Listener, Message]:
    """A subscriptions/listen request's stream, and the acknowledgement it starts with."""
    wanted = params_of(msg).get("notifications")
    wanted = wanted if isinstance(wanted, dict) else {}
    uris = wanted.get("resourceSubscriptions")
    request_id: RequestId = msg["id"]
    listener = Listener(
        request_id=request_id,
        ctx=ctx,
        tools=wanted.get("toolsListChanged") is True,
        prompts=wanted.get("promptsListChanged") is True,
        resources=wanted.get("resourcesListChanged") is True,
        uris=frozenset(u for u in uris if isinstance(u, str)) if isinstance(uris, list) else frozenset(),
    )
    ack = {
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"_meta": {META_SUBSCRIPTION_ID: request_id}, "notifications": listener.accepted_filter()},
    }
    return listener, ack
