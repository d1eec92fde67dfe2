"""Per-call metrics as a call hook: requests and errors by server, method, tool and outcome; latency.

The hook only bumps plain dict entries (the event loop is the only writer, so no locks); the
Prometheus families are built from them at scrape time. prometheus-client's own Counter and
Histogram take a lock per update, which costs more than the rest of this hook together.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.calls import Call
from mcpctl.router.hooks import NoHooks, Refusal

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
_BUCKET_LABELS = ["+Inf" if bound == float("inf") else repr(bound) for bound in LATENCY_BUCKETS]  # Go's style
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
_CALL_LABELS = ["server", "method", "tool", "outcome"]


class CallMetrics(NoHooks):
    """Counts every call once: `finished` (it reached a backend or found it unavailable) or `refused`.

    Also a prometheus-client collector for what it counted.
    """

    def __init__(self) -> None:
        self._calls: defaultdict[tuple[str, str, str, str], int] = defaultdict(int)
        # per (server, method, tool): a count per latency bucket (not cumulative), then the sum
        self._latency: dict[tuple[str, str, str], list[float]] = {}
        self._tools: set[str] = set()

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        elapsed = time.monotonic() - call.started
        if call.method == "tools/call" and call.name in self._tools:  # the usual case, without a call
            method, tool = "tools/call", call.name
        else:
            method, tool = self._method_and_tool(call.method, call.name)
        series_key = (call.server, method, tool)
        self._calls[call.server, method, tool, outcome] += 1
        series = self._latency.get(series_key)
        if series is None:
            series = self._latency[series_key] = [0.0] * (len(LATENCY_BUCKETS) + 1)
        series[bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        series[-1] += elapsed

    def refused(self, refusal: Refusal) -> None:
        code = refusal.error.get("code")
        outcome = _REFUSALS.get(code, "refused") if isinstance(code, int) else "refused"
        server = refusal.server
        # an unknown name has no server: it came from the client, so it is not a label value
        label_method, tool = self._method_and_tool(refusal.method, refusal.name if server else None)
        self._calls[server, label_method, tool, outcome] += 1

    def collect(self) -> Iterator[Any]:
        requests = CounterMetricFamily(
            "mcp_requests", "Calls by server, method, tool and outcome", labels=_CALL_LABELS
        )
        errors = CounterMetricFamily(
            "mcp_request_errors",
            "Calls that did not end ok, by server, method, tool and outcome",
            labels=_CALL_LABELS,
        )
        for labels, count in sorted(self._calls.items()):
            requests.add_metric(labels, count)
            if labels[3] != "ok":
                errors.add_metric(labels, count)
        latency = HistogramMetricFamily(
            "mcp_request_duration_seconds",
            "Time from a call's arrival to its answer, for calls that reached a server",
            labels=["server", "method", "tool"],
        )
        for series_labels, series in sorted(self._latency.items()):
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip(_BUCKET_LABELS, series, strict=False):
                cumulative += in_bucket
                buckets.append((bound, cumulative))
            latency.add_metric(series_labels, buckets, series[-1])
        yield from (requests, errors, latency)

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
