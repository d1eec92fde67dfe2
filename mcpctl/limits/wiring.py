"""Plugs the limits part into the host: breakers and call limits as hooks, HTTP limits as a layer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mcpctl.edge.asgi import ASGIApp
from mcpctl.extension import Extension
from mcpctl.gateway.hooks import CallHooks
from mcpctl.limits.buckets import MemoryLimiter
from mcpctl.limits.collector import LimitsCollector
from mcpctl.limits.hooks import BreakerHooks, LimitHooks, LimitStats
from mcpctl.limits.http import HttpLimitLayer
from mcpctl.limits.rules import RuleSet

if TYPE_CHECKING:
    from mcpctl.host import Host


def build(host: Host) -> Extension:
    limits = host.config.limits
    rules = RuleSet(limits.rules)
    limiter = MemoryLimiter(time.monotonic, limits.max_buckets)
    stats = LimitStats()
    breakers = BreakerHooks(host.config.enabled_servers(), time.monotonic)
    # The breaker comes first: a call it refuses never takes a rate-limit token (the backend is
    # down; the client should not pay for that), and a probe a limit refuses is handed back.
    hooks: list[CallHooks] = [breakers]
    if rules.has_call_rules:
        hooks.append(LimitHooks(rules, limiter, stats))
    part = Extension(
        hooks=hooks, status=[breakers.status_fields], collectors=[LimitsCollector(breakers, stats, limiter)]
    )
    if rules.has_http_rules:
        audit = host.audit  # the audit part, built before this one, has set it

        def layer(app: ASGIApp) -> ASGIApp:
            return HttpLimitLayer(app, rules, limiter, stats, audit)

        part.layers.append(layer)
    return part
