"""The limits part's call hook: limits and breakers refuse calls in `admit`; breakers learn in `finished`.

Refusals are not recorded in the audit trail here: the audit part records every `refused`
call hook, these included.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from mcpctl.config.models import ServerConfig
from mcpctl.limits.breaker import FAILURE, NEUTRAL, OPEN, SUCCESS, Breaker
from mcpctl.limits.buckets import ALLOWED, Clock, Decision, Limiter
from mcpctl.limits.rules import RuleSet, human_seconds, refusal
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.hooks import NoHooks, Refusal

# What a finished call's outcome says about its backend. A tool's isError and a JSON-RPC error
# are answers: the backend is alive. Only the absence of an answer counts against it.
_RESULTS = {
    "ok": SUCCESS,
    "tool_error": SUCCESS,
    "error": SUCCESS,
    "unavailable": FAILURE,
    "timeout": FAILURE,
    "cancelled": NEUTRAL,
}
# A probe that never reports back is forgotten this long after its call's own deadline.
_PROBE_GRACE = 5.0


class LimitStats:
    """Refusal counts by (scope, level), read by the metrics part at scrape time."""

    def __init__(self) -> None:
        self.refusals: Counter[tuple[str, str]] = Counter()


class RateLimits:
    """Every call-level rule that matches a call must have a token for it, or the call is refused."""

    def __init__(self, rules: RuleSet, limiter: Limiter, stats: LimitStats) -> None:
        self._rules = rules
        self._limiter = limiter
        self._stats = stats

    def admit(self, ctx: ClientContext, method: str, server: str, name: str) -> dict[str, object] | None:
        found = self._rules.for_call(ctx.principal.name, method, server, name)
        if not found.group.buckets:
            return None
        shared = ctx.verdicts
        if shared is not None and len(shared) == len(found.group.buckets):
            decision = _decided(shared)  # the fleet's store took (or refused) the tokens, on its clock
        else:
            decision = self._limiter.acquire(found.group)
        if decision.allowed:
            return None
        binding = found.matches[decision.refused_by]
        self._stats.refusals[binding.rule.rule.scope, "call"] += 1
        return refusal(binding, decision.retry_after)


class CallGuard(NoHooks):
    """The limits part's one call hook: each server's breaker first, then the rate limits.

    The breaker comes first: a call it refuses takes no rate-limit token (the backend is down;
    the client should not pay for that), and a probe call a limit refuses is handed back. One
    hook rather than two, because every hook costs every call a few method calls. It also
    contributes the `breaker` status field.
    """

    def __init__(
        self, servers: dict[str, ServerConfig], clock: Clock, limits: RateLimits | None = None
    ) -> None:
        self.breakers = {
            name: Breaker(
                cfg.breaker.failures, cfg.breaker.open_for, cfg.max_call_timeout + _PROBE_GRACE, clock
            )
            for name, cfg in servers.items()
            if cfg.breaker.enabled
        }
        self._limits = limits
        # the context of each server's probe call: a call's result is the probe's only if its
        # context is this one (a restart forgets the probe, so a stale result cannot reopen)
        self._probes: dict[str, ClientContext] = {}

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        breaker = self.breakers.get(server)
        if breaker is not None:
            admission = breaker.admit()
            if not admission.allowed:
                return _circuit_open(server, breaker, admission.retry_after)
            if admission.probe:
                self._probes[server] = ctx
        if self._limits is None:
            return None
        limited = self._limits.admit(ctx, method, server, name)
        if limited is not None and self._probes:
            self.refused(Refusal(ctx, method, server, name, params, limited))
        return limited

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        breaker = self.breakers.get(call.server)
        if breaker is None:
            return
        result = _RESULTS.get(outcome, NEUTRAL)
        if not self._probes and result is SUCCESS and breaker.failures == 0:
            return  # the common case, and it would change nothing
        breaker.record(result, probe=bool(self._probes) and self._is_probe(call.server, call.ctx))

    def refused(self, refusal: Refusal) -> None:
        # A limit (ours, or a later hook's) refused a call we had let through as the probe: free the slot.
        breaker = self.breakers.get(refusal.server)
        if breaker is not None and self._is_probe(refusal.server, refusal.ctx):
            breaker.record(NEUTRAL, probe=True)

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


def _decided(waits: tuple[int, ...]) -> Decision:
    """The fleet store's verdict (ms to wait per bucket) as a limiter's decision."""
    wait = max(waits)
    if wait <= 0:
        return ALLOWED
    return Decision(False, wait / 1000, waits.index(wait))


def _circuit_open(server: str, breaker: Breaker, retry_after: float) -> dict[str, object]:
    retry = math.ceil(retry_after * 1000) / 1000
    state = breaker.state
    if state is OPEN:
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
