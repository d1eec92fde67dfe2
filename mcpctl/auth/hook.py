"""Policy as a call hook: lists show each caller what it may call; other calls are refused and audited."""

from __future__ import annotations

from typing import Any

from mcpctl.audit.api import AuditRecorder
from mcpctl.auth.policy import Policy
from mcpctl.protocol import codes
from mcpctl.router.context import ClientContext
from mcpctl.router.hooks import NoHooks


class PolicyHook(NoHooks):
    def __init__(self, policy: Policy, audit: AuditRecorder) -> None:
        self._policy = policy
        self._audit = audit

    def visible(self, ctx: ClientContext, kind: str, name: str) -> bool:
        return self._policy.decide(ctx.principal, name).allowed

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        decision = self._policy.decide(ctx.principal, name)
        if decision.allowed:
            return None
        principal = ctx.principal
        # ctx gives the record its principal, client, user agent, session and request id
        self._audit.record(
            "auth.denied",
            ctx=ctx,
            method=method,
            server=server or None,
            tool=name,
            reason=decision.reason,
            required_scopes=list(decision.needed_scopes) or None,
        )
        data: dict[str, object] = {"principal": principal.name, "name": name}
        if decision.needed_scopes:
            data.update(error="insufficient_scope", scope=" ".join(decision.needed_scopes))
        return {"code": codes.FORBIDDEN, "message": f"Forbidden: {decision.reason}", "data": data}
