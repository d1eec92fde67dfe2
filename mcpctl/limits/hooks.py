"""Rate limits and circuit breakers as call hooks: they refuse calls in `admit`, breakers learn in `finished`.

Refusals are not recorded in the audit trail here: the audit part records every `refused`
call hook, these included.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from mcpctl.config.models import ServerConfig
from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.hooks import NoHooks
from mcpctl.limits.breaker import Breaker, BreakerState, Result
from mcpctl.limits.buckets import Clock, Limiter
from mcpctl.limits.rules import RuleSet, human_seconds, refusal
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import Message

# What a finished call's outcome says about its backend. A tool's isError and a JSON-RPC error
# are answers: the backend is alive. Only the absence of an answer counts against it.
_RESULTS = {
    "ok": Result.SUCCESS,
    "tool_error": Result.SUCCESS,
    "error": Result.SUCCESS,
    "unavailable": Result.FAILURE,
    "timeout": Result.FAILURE,
    "cancelled": Result.NEUTRAL,
}
# A probe that never reports back is forgotten this long after its call's own deadline.
_PROBE_GRACE = 5.0


class LimitStats:
    """Refusal counts by (scope, level), read by the metrics part at scrape time."""

    def __init__(self) -> None:
        self.refusals: Counter[tuple[str, str]] = Counter()


class LimitHooks(NoHooks):
    """Every call-level rule that matches a call must have a token for it, or the call is refused."""

    def __init__(self, rules: RuleSet, limiter: Limiter, stats: LimitStats) -> None:
        self._rules = rules
        self._limiter = limiter
        self._stats = stats

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        matches = self._rules.for_call(ctx.principal.name, method, server, name)
        if not matches:
            return None
        decision = self._limiter.acquire([m.bucket() for m in matches])
        if decision.allowed:
            return None
        binding = matches[decision.refused_by]
        self._stats.refusals[binding.rule.rule.scope, "call"] += 1
        return refusal(binding, decision.retry_after)


class BreakerHooks(NoHooks):
    """One breaker per server that has one enabled; also contributes the `breaker` status field."""

    def __init__(self, servers: dict[str, ServerConfig], clock: Clock) -> None:
        self.breakers = {
            name: Breaker(
                cfg.breaker.failures, cfg.breaker.open_for, cfg.max_call_timeout + _PROBE_GRACE, clock
            )
            for name, cfg in servers.items()
            if cfg.breaker.enabled
        }
        # the context of each server's probe call: a call's result is the probe's only if its
        # context is this one (a restart forgets the probe, so a stale result cannot reopen)
        self._probes: dict[str, ClientContext] = {}

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        breaker = self.breakers.get(server)
        if breaker is None:
            return None
        admission = breaker.admit()
        if admission.allowed:
            if admission.probe:
                self._probes[server] = ctx
            return None
        retry = math.ceil(admission.retry_after * 1000) / 1000
        state = breaker.state
        if state is BreakerState.OPEN:
            why = f"it failed {breaker.failures} times in a row, so mcpctl stops calling it for a while"
        else:
            why = "mcpctl is checking with one call whether it has recovered"
        return {
            "code": codes.CIRCUIT_OPEN,
            "message": (
                f"server {server!r} is temporarily unavailable: {why} "
                f"(circuit breaker {state.value}); retry in {human_seconds(retry)}"
            ),
            "data": {"server": server, "retryAfter": retry, "state": state.value},
        }

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        breaker = self.breakers.get(call.server)
        if breaker is not None:
            breaker.record(_RESULTS.get(outcome, Result.NEUTRAL), probe=self._is_probe(call.server, call.ctx))

    def refused(  # noqa: PLR0917 (the CallHooks signature)
        self,
        ctx: ClientContext,
        method: str,
        server: str,
        name: str,
        params: dict[str, Any],
        error: dict[str, object],
    ) -> None:
        # A hook after us (a rate limit) refused a call we had let through as the probe: free the slot.
        breaker = self.breakers.get(server)
        if breaker is not None and self._is_probe(server, ctx):
            breaker.record(Result.NEUTRAL, probe=True)

    def server_changed(self, server: str, up: bool) -> None:
        breaker = self.breakers.get(server)
        if breaker is not None and up:
            self._probes.pop(server, None)
            breaker.backend_ready()

    def status_fields(self, server: str) -> dict[str, Any]:
        breaker = self.breakers.get(server)
        if breaker is None:
            return {"breaker": {"state": "disabled"}}
        retry = breaker.retry_in()
        state = breaker.state
        return {
            "breaker": {
                "state": state.value,
                "failures": breaker.failures,
                "retryIn": None if retry is None else round(retry, 1),
            }
        }

    def _is_probe(self, server: str, ctx: ClientContext | None) -> bool:
        if ctx is not None and self._probes.get(server) is ctx:
            del self._probes[server]
            return True
        return False
