"""The edge ASGI app: routes paths to endpoints; layers (security, auth) wrap it in host.py."""

from __future__ import annotations

import logging

from mcpctl.edge.asgi import ClientGone, Receive, Request, Scope, Send, send_json
from mcpctl.edge.legacy_sse import LegacySSEEndpoint
from mcpctl.edge.requests import HttpError
from mcpctl.edge.routes import ADMIN_PREFIX, HEALTH_PATH, MCP_PATH, MESSAGES_PATH, READY_PATH, SSE_PATH
from mcpctl.edge.status import StatusEndpoints
from mcpctl.edge.streamable import StreamableEndpoint
from mcpctl.fleet.store import RETRY_AFTER, StateUnavailable
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import error

log = logging.getLogger(__name__)


class EdgeApp:
    """Routes by path. An endpoint refuses a request by raising HttpError (its status and JSON-RPC
    error are sent here), and an unexpected failure becomes a 500 with a JSON-RPC error, never a
    dropped connection."""

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
            try:
                await handler(request, send)
            except HttpError as exc:  # refused at the HTTP level, with the JSON-RPC error to say why
                await send_json(send, exc.status, exc.body, exc.headers)
            # session-bound work fails closed, at once, when the fleet's store is down
            except StateUnavailable as exc:
                retry = [(b"retry-after", str(RETRY_AFTER).encode())]
                await send_json(send, 503, error(None, codes.BACKEND_UNAVAILABLE, exc.message), retry)
            except ClientGone:
                return
        except Exception:
            log.exception("unexpected error handling %s %s", request.method, request.path)
            try:
                await send_json(
                    send, 500, error(None, codes.INTERNAL_ERROR, "Internal error in mcpctl (see its log)")
                )
            except Exception:  # the response had already started: nothing more to say
                log.debug("could not report the error to the client")
