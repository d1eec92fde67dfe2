"""Plugs the metrics part into the host: a registry of its own, a call hook and GET /metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcpctl.edge.asgi import ASGIApp
from mcpctl.extension import Extension

if TYPE_CHECKING:
    from mcpctl.extension import PartContext


def build(context: PartContext) -> Extension:
    if not context.config.metrics.enabled:
        return Extension()
    from prometheus_client import CollectorRegistry

    from mcpctl.metrics.calls import CallMetrics
    from mcpctl.metrics.collector import Contributed, HostCollector
    from mcpctl.metrics.endpoint import MetricsLayer

    # One registry per host, never prometheus-client's global one: a process (a test) may run several.
    registry = CollectorRegistry()
    calls = CallMetrics()
    registry.register(calls)
    registry.register(HostCollector(context.status, context.audit))
    registry.register(Contributed(context.collectors))

    def layer(app: ASGIApp) -> ASGIApp:
        return MetricsLayer(app, registry)

    return Extension(hooks=[calls], layers=[layer])
