"""HTTP-level rate limits: an ASGI layer that refuses a whole request with 429 and Retry-After.

Rules with `level = "http"` count every request to the MCP endpoints before its body is read, so
a client over its limit costs the gateway almost nothing. Only the principal is known at this
point (the auth layer, outside this one, has set it), hence only `principal` and `global` scopes.
DELETE (ending a session) is never refused: it frees resources.
"""

from __future__ import annotations

from mcpctl.audit.api import AuditRecorder
from mcpctl.edge.asgi import ASGIApp, Receive, Scope, Send, send_json
from mcpctl.gateway.context import ANONYMOUS, Principal
from mcpctl.limits.buckets import Limiter
from mcpctl.limits.hooks import LimitStats
from mcpctl.limits.rules import RuleSet, refusal, retry_after_header

MCP_PATHS = frozenset({"/mcp", "/mcp/", "/sse", "/messages", "/messages/"})
_COUNTED_METHODS = frozenset({"POST", "GET"})


class HttpLimitLayer:
    def __init__(
        self, app: ASGIApp, rules: RuleSet, limiter: Limiter, stats: LimitStats, audit: AuditRecorder
    ) -> None:
        self._app = app
        self._rules = rules
        self._limiter = limiter
        self._stats = stats
        self._audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] not in MCP_PATHS
            or scope["method"] not in _COUNTED_METHODS
        ):
            await self._app(scope, receive, send)
            return
        principal = scope.get("mcpctl.principal")
        name = principal.name if isinstance(principal, Principal) else ANONYMOUS.name
        matches = self._rules.for_http(name)
        decision = self._limiter.acquire([m.bucket() for m in matches]) if matches else None
        if decision is None or decision.allowed:
            await self._app(scope, receive, send)
            return
        binding = matches[decision.refused_by]
        self._stats.refusals[binding.rule.rule.scope, "http"] += 1
        error = refusal(binding, decision.retry_after)
        self._audit.record(
            "limit.refused",
            principal=name,
            client=_client(scope),
            user_agent=_header(scope, b"user-agent"),
            http_status=429,
            method=scope["method"],
            path=scope["path"],
            error=error,
        )
        body = {"jsonrpc": "2.0", "id": None, "error": error}  # the request was not read: no id to echo
        await send_json(send, 429, body, [(b"retry-after", retry_after_header(decision.retry_after))])


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""
