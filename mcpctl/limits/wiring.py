"""Plugs the limits part into the host: breakers and call limits as one hook, HTTP limits as a layer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mcpctl.edge.asgi import ASGIApp
from mcpctl.extension import Extension
from mcpctl.limits.buckets import MemoryLimiter
from mcpctl.limits.collector import LimitsCollector
from mcpctl.limits.hooks import CallGuard, LimitStats, RateLimits
from mcpctl.limits.http import HttpLimitLayer
from mcpctl.limits.rules import RuleSet

if TYPE_CHECKING:
    from mcpctl.extension import PartContext


def build(context: PartContext) -> Extension:
    config = context.config.limits
    rules = RuleSet(config.rules)
    limiter = MemoryLimiter(time.monotonic, config.max_buckets)
    stats = LimitStats()
    limits = RateLimits(rules, limiter, stats) if rules.has_call_rules else None
    guard = CallGuard(context.config.enabled_servers(), time.monotonic, limits)
    part = Extension(
        # with no breaker and no call-level rule the guard would admit and learn nothing: every
        # hook costs every call a few method calls
        hooks=[guard] if guard.breakers or limits is not None else [],
        status=[guard.status_fields],
        collectors=[LimitsCollector(guard, stats, limiter)],
    )
    if context.fleet is not None and limits is not None:
        # In a fleet the call-level limits are taken in the store, on each request's one round trip
        # (the local limiter stands in while the store is down: each instance then allows the full limit).
        def shared(principal: str, method: str, server: str, name: str) -> list[tuple[str, int, int]]:
            found = rules.for_call(principal, method, server, name).group.buckets
            return [(b.key, max(round(1_000_000 / b.rate), 1), max(int(b.capacity), 1)) for b in found]

        part.shared_buckets = shared
    if rules.has_http_rules:
        audit = context.audit  # the audit part's recorder: it is built before this one

        def layer(app: ASGIApp) -> ASGIApp:
            return HttpLimitLayer(app, rules, limiter, stats, audit)

        part.layers.append(layer)
    return part
