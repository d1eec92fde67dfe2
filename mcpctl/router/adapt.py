"""Era adaptation of forwarded messages: patch only what the other side needs (meta, ids, names)."""

from __future__ import annotations

from typing import Any

from mcpctl.protocol import codes
from mcpctl.protocol.capabilities import can_be_asked
from mcpctl.protocol.eras import (
    CACHEABLE_METHODS,
    LEGACY,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    MODERN,
    MRTR_METHODS,
    Era,
    log_level_rank,
)
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext

_MODERN_PREFIX = "io.modelcontextprotocol/"
_MODERN_RESULT_MEMBERS = frozenset({"resultType", "ttlMs", "cacheScope"})


def request_for_backend(
    request: Message, ctx: ClientContext | None, backend_era: Era, backend_version: str, request_id: int
) -> Message:
    """`request` (in the server's names) as a backend of `backend_era` must see it, under `request_id`."""
    params: dict[str, Any] = request.get("params") or {}
    meta = params.get("_meta")
    meta = dict(meta) if isinstance(meta, dict) else {}
    if backend_era is MODERN and ctx is not None:
        meta[META_PROTOCOL_VERSION] = backend_version
        if ctx.era is LEGACY:
            # A legacy client negotiated once; a modern backend needs it on every request.
            meta[META_CLIENT_CAPABILITIES] = ctx.capabilities
            meta[META_CLIENT_INFO] = ctx.client_info
            if ctx.log_level:
                meta[META_LOG_LEVEL] = ctx.log_level
        else:
            meta.setdefault(META_CLIENT_CAPABILITIES, ctx.capabilities)
    else:
        # A legacy backend negotiated with us at initialize; modern per-request keys mean nothing to it.
        for key in [k for k in meta if k.startswith(_MODERN_PREFIX)]:
            del meta[key]
    rounds = (
        backend_era is LEGACY and ctx is not None and ctx.era is MODERN and can_be_asked(ctx.capabilities)
    )
    if "progressToken" in meta or (rounds and request["method"] in MRTR_METHODS):
        # Two clients may both use token 1: the backend sees our unique id instead. A modern
        # client's call to a legacy backend always has one: a retry after a round of input may
        # ask for the progress the first request did not (the router drops it until one does).
        meta["progressToken"] = request_id
    out_params = dict(params)
    if backend_era is LEGACY:  # input rounds are ours to run with a legacy backend (mrtr.py)
        out_params.pop("inputResponses", None)
        out_params.pop("requestState", None)
    if meta:
        out_params["_meta"] = meta
    else:
        out_params.pop("_meta", None)
    return {"jsonrpc": "2.0", "id": request_id, "method": request["method"], "params": out_params}


def response_for_client(call: Call, msg: Message) -> Message:
    """The backend's response with the client's id back, shaped for the client's era."""
    ctx = call.ctx
    out: Message = {"jsonrpc": "2.0", "id": call.client_id}
    error = msg.get("error")
    if error is not None:
        if not isinstance(error, dict):
            error = {"code": codes.INTERNAL_ERROR, "message": "the server sent a malformed error"}
        elif ctx is not None and ctx.era is MODERN and error.get("code") == codes.LEGACY_RESOURCE_NOT_FOUND:
            error = {**error, "code": codes.INVALID_PARAMS}  # 2026-07-28 moved resource-not-found to -32602
        out["error"] = error
        return out
    result = msg.get("result")
    if not isinstance(result, dict):
        out["error"] = {
            "code": codes.INTERNAL_ERROR,
            "message": "the server sent a result that is not an object",
        }
        return out
    if ctx is not None and ctx.era is MODERN:
        if "resultType" not in result:
            result = {**result, "resultType": "complete"}
            if call.method in CACHEABLE_METHODS and "ttlMs" not in result:
                # A legacy server says nothing of caching: a proxied answer is fresh and the caller's own.
                result["ttlMs"], result["cacheScope"] = 0, "private"
    elif result.get("resultType") == "input_required":
        out["error"] = {
            "code": codes.NO_ROUTE,
            "message": (
                f"server {call.server!r} asked the client for input (a 2026-07-28 multi round-trip request), "
                "which mcpctl cannot relay to a client of an earlier protocol revision"
            ),
        }
        return out
    elif "resultType" in result:
        result = _legacy_result(result)
    out["result"] = result
    return out


def _legacy_result(result: dict[str, Any]) -> dict[str, Any]:
    """A 2026-07-28 result as a client of an earlier revision knows results: without the new members."""
    clean = {k: v for k, v in result.items() if k not in _MODERN_RESULT_MEMBERS}
    meta = clean.get("_meta")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not k.startswith(_MODERN_PREFIX)}
        if kept:
            clean["_meta"] = kept
        else:
            del clean["_meta"]
    return clean


def interim_for_client(call: Call, msg: Message) -> Message | None:
    """A progress or log notification (or server request) for the client; None to drop it."""
    method = msg.get("method")
    if method == "notifications/progress":
        if call.progress_token is None:
            return None
        params = msg.get("params")
        params = params if isinstance(params, dict) else {}
        return {**msg, "params": {**params, "progressToken": call.progress_token}}
    if method == "notifications/message" and not wants_log(call.ctx, msg):
        return None
    return msg


def wants_log(ctx: ClientContext | None, msg: Message) -> bool:
    """Whether a log notification reaches this client, by the level it asked for."""
    if ctx is None:
        return False
    if ctx.era is MODERN and ctx.log_level is None:
        return False  # 2026-07-28: no logs for requests that did not ask for them
    params = msg.get("params")
    level = params.get("level") if isinstance(params, dict) else None
    return ctx.log_level is None or log_level_rank(level) >= log_level_rank(ctx.log_level)
