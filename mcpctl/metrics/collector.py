"""Gauges read from live host state at scrape time: sessions, children, audit queue, other parts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from mcpctl import __version__
from mcpctl.edge.status import HostStatus
from mcpctl.extension import MetricsSource

SERVER_STATES = ("starting", "ready", "backoff", "crash-loop", "stopped")


class HostCollector:
    """Reads what the gateway and supervisor already keep: nothing is counted twice on the hot path.

    The audit recorder is another part's: its `queue_depth` and `dropped` (ints, or methods that
    return them) are read if it has them, and left out of /metrics if it does not.
    """

    def __init__(self, host: HostStatus, audit: object) -> None:
        self._host = host
        self._audit = audit

    def collect(self) -> Iterator[Any]:
        info = GaugeMetricFamily("mcpctl_info", "The running mcpctl's version", labels=["version"])
        info.add_metric([__version__], 1.0)
        yield info
        yield GaugeMetricFamily(
            "mcp_active_sessions",
            "Open legacy (2025-era) client sessions",
            value=self._host.session_count(),
        )
        up = GaugeMetricFamily(
            "mcp_server_up", "1 when the server's child is ready to take calls", labels=["server"]
        )
        state = GaugeMetricFamily(
            "mcp_server_state",
            "Supervisor state per server (1 for the current state)",
            labels=["server", "state"],
        )
        restarts = CounterMetricFamily(
            "mcp_server_restarts", "Times the supervisor restarted the server", labels=["server"]
        )
        for name in sorted(self._host.server_names()):
            status = self._host.server_status(name)
            up.add_metric([name], 1.0 if status["state"] == "ready" else 0.0)
            for candidate in SERVER_STATES:
                state.add_metric([name, candidate], 1.0 if candidate == status["state"] else 0.0)
            restarts.add_metric([name], status["restarts"])
        yield from (up, state, restarts)
        depth, dropped = _read(self._audit, "queue_depth"), _read(self._audit, "dropped")
        if depth is not None:
            yield GaugeMetricFamily(
                "mcp_audit_queue_depth", "Audit records waiting for the writer", value=depth
            )
        if dropped is not None:
            yield CounterMetricFamily(
                "mcp_audit_dropped",
                "Audit records the trail lost (a full queue, a disk that refused them, the end of a run)",
                value=dropped,
            )


class Contributed:
    """The collectors other parts contribute, read at scrape time (so build order does not matter)."""

    def __init__(self, sources: Sequence[MetricsSource]) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Any]:
        for source in self._sources:
            yield from source.collect()


def _read(obj: object, name: str) -> float | None:
    value = getattr(obj, name, None)
    if callable(value):
        value = value()
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
