"""What the limits part tells /metrics: breaker states, opens and refusals, and limiter refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from mcpctl.limits.breaker import BreakerState
from mcpctl.limits.buckets import Limiter
from mcpctl.limits.hooks import CallGuard, LimitStats

# every (scope, level) a rule can have: all scopes count calls; only these two count HTTP requests
_SERIES = [(scope, "call") for scope in ("principal", "tool", "server", "global")] + [
    ("principal", "http"),
    ("global", "http"),
]


class LimitsCollector:
    """A prometheus-client custom collector: reads live state at scrape time, costs nothing per call."""

    def __init__(self, breakers: CallGuard, stats: LimitStats, limiter: Limiter) -> None:
        self._breakers = breakers
        self._stats = stats
        self._limiter = limiter

    def collect(self) -> Iterator[Any]:
        state = GaugeMetricFamily(
            "mcp_breaker_state",
            "Circuit breaker state per server (1 for the current state)",
            labels=["server", "state"],
        )
        opened = CounterMetricFamily(
            "mcp_breaker_opened", "Times a server's circuit breaker opened", labels=["server"]
        )
        refused = CounterMetricFamily(
            "mcp_breaker_refusals",
            "Calls refused because a server's circuit breaker was open",
            labels=["server"],
        )
        for server, breaker in sorted(self._breakers.breakers.items()):
            current = breaker.state
            for candidate in BreakerState:
                state.add_metric([server, candidate.value], 1.0 if candidate is current else 0.0)
            opened.add_metric([server], breaker.opens)
            refused.add_metric([server], breaker.refusals)
        yield state
        yield opened
        yield refused
        limits = CounterMetricFamily(
            "mcp_limit_refusals",
            "Calls (level=call) or HTTP requests (level=http) refused by a rate limit",
            labels=["scope", "level"],
        )
        for scope, level in _SERIES:
            limits.add_metric([scope, level], self._stats.refusals[scope, level])
        yield limits
        yield GaugeMetricFamily(
            "mcp_limit_buckets", "Rate-limit token buckets held in memory", value=self._limiter.size()
        )
