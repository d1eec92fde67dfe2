"""The edge ASGI app: routes paths to endpoints; layers (security, auth) wrap it in host.py."""

from __future__ import annotations

import logging

from mcpctl.edge.asgi import Receive, Request, Scope, Send, send_json
from mcpctl.edge.legacy_sse import LegacySSEEndpoint
from mcpctl.edge.routes import ADMIN_PREFIX, HEALTH_PATH, MCP_PATH, MESSAGES_PATH, READY_PATH, SSE_PATH
from mcpctl.edge.status import StatusEndpoints
from mcpctl.edge.streamable import StreamableEndpoint
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import error

log = logging.getLogger(__name__)


class EdgeApp:
    """Routes by path; an unexpected failure becomes a JSON-RPC error, never a dropped connection."""

    def __init__(
        self, streamable: StreamableEndpoint, legacy: LegacySSEEndpoint, status: StatusEndpoints
    ) -> None:
        self._routes = {
            MCP_PATH: streamable.__call__,
            MCP_PATH + "/": streamable.__call__,
            SSE_PATH: legacy.stream,
            MESSAGES_PATH: legacy.message,
            MESSAGES_PATH + "/": legacy.message,
            HEALTH_PATH: status.health,
            READY_PATH: status.ready,
        }
        self._admin = status.admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        handler = self._routes.get(request.path)
        if handler is None and request.path.startswith(ADMIN_PREFIX):
            handler = self._admin
        try:
            if handler is None:
                await send_json(
                    send,
                    404,
                    error(
                        None,
                        codes.INVALID_REQUEST,
                        f"Not found: {request.path} (the MCP endpoint is {MCP_PATH})",
                    ),
                )
                return
            await handler(request, send)
        except Exception:
            log.exception("unexpected error handling %s %s", request.method, request.path)
            try:
                await send_json(
                    send, 500, error(None, codes.INTERNAL_ERROR, "Internal error in mcpctl (see its log)")
                )
            except Exception:  # the response had already started: nothing more to say
                log.debug("could not report the error to the client")
