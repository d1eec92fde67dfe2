"""GET /metrics: the host's registry in the Prometheus text format (or OpenMetrics, if asked)."""

from __future__ import annotations

from collections.abc import Awaitable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from mcpctl.edge.asgi import ASGIApp, Receive, Scope, Send, direct, send_bytes, send_json
from mcpctl.edge.routes import METRICS_PATH
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import error


class MetricsLayer:
    """Serves /metrics and passes everything else through untouched (two comparisons per request).

    Collection runs on the event loop: it reads live gateway and supervisor state, which only
    the loop may touch, and takes well under a millisecond per few hundred series.
    """

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self._app = direct(app)
        self._registry = registry

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: every other request is the inner app's own coroutine, so this
        # layer adds no frame that every resumption of the request would pass through.
        if scope["type"] != "http" or scope["path"] != METRICS_PATH:
            return self._app(scope, receive, send)
        return self._serve(scope, send)

    async def _serve(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await send_json(
                send, 405, error(None, codes.INVALID_REQUEST, "use GET /metrics"), [(b"allow", b"GET, HEAD")]
            )
            return
        accept = ""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
                break
        encode, content_type = choose_encoder(accept)
        body = encode(self._registry)
        await send_bytes(
            send,
            200,
            body if scope["method"] == "GET" else b"",
            content_type.encode(),
            [(b"cache-control", b"no-store")],
        )
