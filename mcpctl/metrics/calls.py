"""Per-call metrics as a call hook: requests and errors by server, method, tool and outcome; latency."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.hooks import NoHooks
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import Message

# MCP calls range from milliseconds to minutes.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    float("inf"),
)
# Label values come from the catalog and the code, never from what a client sent: a client that
# sends made-up names or methods must not be able to grow the number of series.
METHODS = frozenset({"tools/call", "prompts/get", "resources/read", "completion/complete"})
OTHER = "(other)"
MAX_TOOL_LABELS = 2000  # distinct tool names labelled; past this (a server inventing tools), OTHER
_REFUSALS = {
    codes.RATE_LIMITED: "rate_limited",
    codes.CIRCUIT_OPEN: "circuit_open",
    codes.FORBIDDEN: "forbidden",
    codes.INVALID_PARAMS: "unknown",  # unknown tool, prompt or resource
}


class CallMetrics(NoHooks):
    """Counts every call once: `finished` (it reached a backend or found it unavailable) or `refused`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("server", "method", "tool", "outcome")
        self._requests = Counter(
            "mcp_requests", "Calls by server, method, tool and outcome", labels, registry=registry
        )
        self._errors = Counter(
            "mcp_request_errors",
            "Calls that did not end ok, by server, method, tool and outcome",
            labels,
            registry=registry,
        )
        self._latency = Histogram(
            "mcp_request_duration_seconds",
            "Time from a call's arrival to its answer, for calls that reached a server",
            ("server", "method", "tool"),
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        # label children by key: prometheus-client's own lookup costs more than a dict hit
        self._counted: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._timed: dict[tuple[str, str, str], Any] = {}
        self._tools: set[str] = set()

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        method, tool = self._method_and_tool(call.method, call.name)
        self._count(call.server, method, tool, outcome)
        key = (call.server, method, tool)
        child = self._timed.get(key)
        if child is None:
            child = self._timed[key] = self._latency.labels(*key)
        child.observe(time.monotonic() - call.started)

    def refused(  # noqa: PLR0917 (the CallHooks signature)
        self,
        ctx: ClientContext,
        method: str,
        server: str,
        name: str,
        params: dict[str, Any],
        error: dict[str, object],
    ) -> None:
        code = error.get("code")
        outcome = _REFUSALS.get(code, "refused") if isinstance(code, int) else "refused"
        # an unknown name has no server: it came from the client, so it is not a label value
        label_method, tool = self._method_and_tool(method, name if server else None)
        self._count(server, label_method, tool, outcome)

    def _count(self, server: str, method: str, tool: str, outcome: str) -> None:
        key = (server, method, tool, outcome)
        children = self._counted.get(key)
        if children is None:
            errors = self._errors.labels(*key) if outcome != "ok" else None
            children = self._counted[key] = (self._requests.labels(*key), errors)
        children[0].inc()
        if children[1] is not None:
            children[1].inc()

    def _method_and_tool(self, method: str, name: str | None) -> tuple[str, str]:
        if method not in METHODS:
            return OTHER, ""
        if method != "tools/call" or not name:
            return method, ""
        if name not in self._tools:
            if len(self._tools) >= MAX_TOOL_LABELS:
                return method, OTHER
            self._tools.add(name)
        return method, name
