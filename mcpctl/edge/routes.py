"""The paths the edge serves, in one place: the app routes them, `mcpctl deploy` renders them."""

from __future__ import annotations

from typing import Final

MCP_PATH: Final = "/mcp"  # Streamable HTTP, both protocol eras
SSE_PATH: Final = "/sse"  # the 2024-11-05 HTTP+SSE transport: its stream, then its POSTs
MESSAGES_PATH: Final = "/messages"
HEALTH_PATH: Final = "/health"  # liveness
READY_PATH: Final = "/ready"  # readiness
METRICS_PATH: Final = "/metrics"
ADMIN_PREFIX: Final = "/admin/"  # the local admin API, behind the run's own token
