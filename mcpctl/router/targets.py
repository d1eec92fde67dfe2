"""Where a client request goes: the server behind an exposed name or URI, and the name it knows there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcpctl.protocol import codes
from mcpctl.protocol.catalog import Catalog
from mcpctl.protocol.jsonrpc import Message, error, params_of
from mcpctl.router.streams import Immediate

Target = tuple[str, str, dict[str, Any]]  # (server, exposed name or URI, params in the server's names)


def target(  # noqa: PLR0911 (a dispatcher)
    msg: Message, catalog: Catalog, owner_of: Callable[[str], str | None], bridge: str | None
) -> Target | Immediate | None:
    """Where `msg` goes; None when the name is unknown; Immediate when the params cannot say."""
    method = msg["method"]
    params = params_of(msg)
    if method in ("tools/call", "prompts/get"):
        name = params.get("name")
        if not isinstance(name, str):
            return _bad(msg, f"{method} needs params.name (a string)")
        route = (catalog.route_tool if method == "tools/call" else catalog.route_prompt)(name)
        return (route.server, name, {**params, "name": route.original}) if route else None
    if method == "resources/read":
        uri = params.get("uri")
        if not isinstance(uri, str):
            return _bad(msg, f"{method} needs params.uri (a string)")
        server = owner_of(uri)
        return (server, uri, params) if server else None
    if method == "completion/complete":
        return _completion(msg, params, catalog, owner_of)
    if bridge is not None:
        return bridge, method, params  # a bridge passes on what it does not know
    return Immediate(error(msg["id"], codes.METHOD_NOT_FOUND, f"Method not found: {method}"))


def _completion(
    msg: Message, params: dict[str, Any], catalog: Catalog, owner_of: Callable[[str], str | None]
) -> Target | Immediate | None:
    ref = params.get("ref")
    ref = ref if isinstance(ref, dict) else {}
    if ref.get("type") == "ref/prompt" and isinstance(ref.get("name"), str):
        route = catalog.route_prompt(ref["name"])
        if route is None:
            return None
        return route.server, ref["name"], {**params, "ref": {**ref, "name": route.original}}
    if ref.get("type") == "ref/resource" and isinstance(ref.get("uri"), str):
        server = owner_of(ref["uri"])
        return (server, ref["uri"], params) if server else None
    return _bad(msg, "completion/complete needs a ref/prompt or ref/resource")


def unknown(msg: Message) -> tuple[str, dict[str, object]]:
    """The name a request asked for that leads nowhere, and the error that says so."""
    method, params = msg["method"], params_of(msg)
    if method in ("tools/call", "prompts/get"):
        thing = "tool" if method == "tools/call" else "prompt"
        name = str(params.get("name"))
        return name, {"code": codes.INVALID_PARAMS, "message": f"Unknown {thing}: {name}"}
    ref = params.get("ref")
    uri = str(ref.get("uri") or ref.get("name")) if isinstance(ref, dict) else str(params.get("uri"))
    if method == "completion/complete" and isinstance(ref, dict) and ref.get("type") == "ref/prompt":
        return uri, {"code": codes.INVALID_PARAMS, "message": f"Unknown prompt: {uri}"}
    return uri, {"code": codes.INVALID_PARAMS, "message": f"Resource not found: {uri}", "data": {"uri": uri}}


def _bad(msg: Message, text: str) -> Immediate:
    return Immediate(error(msg["id"], codes.INVALID_PARAMS, text))
