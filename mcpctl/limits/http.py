"""HTTP-level rate limits: an ASGI layer that refuses a whole request with 429 and Retry-After.

Rules with `level = "http"` count every request to the MCP endpoints before its body is read, so
a client over its limit costs the gateway almost nothing. Only the principal is known at this
point (the auth layer, outside this one, has set it), hence only `principal` and `global` scopes.
DELETE (ending a session) is never refused: it frees resources.
"""

from __future__ import annotations

from collections.abc import Awaitable

from mcpctl.audit.api import AuditRecorder
from mcpctl.edge.asgi import ASGIApp, Receive, Scope, Send, direct, send_json
from mcpctl.limits.buckets import ALLOWED, Limiter
from mcpctl.limits.hooks import LimitStats
from mcpctl.limits.rules import Match, RuleSet, refusal, retry_after_header
from mcpctl.router.context import ANONYMOUS, Principal

MCP_PATHS = frozenset({"/mcp", "/mcp/", "/sse", "/messages", "/messages/"})
_COUNTED_METHODS = frozenset({"POST", "GET"})


class HttpLimitLayer:
    def __init__(
        self, app: ASGIApp, rules: RuleSet, limiter: Limiter, stats: LimitStats, audit: AuditRecorder
    ) -> None:
        self._app = direct(app)
        self._rules = rules
        self._limiter = limiter
        self._stats = stats
        self._audit = audit

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a request let through is the inner app's own coroutine, so this
        # layer adds no frame that every resumption of the request would pass through.
        if (
            scope["type"] != "http"
            or scope["path"] not in MCP_PATHS
            or scope["method"] not in _COUNTED_METHODS
        ):
            return self._app(scope, receive, send)
        principal = scope.get("mcpctl.principal")
        if not isinstance(principal, Principal):
            principal = ANONYMOUS
        found = self._rules.for_http(principal.name)
        decision = self._limiter.acquire(found.group) if found.group.buckets else ALLOWED
        if decision.allowed:
            return self._app(scope, receive, send)
        return self._refuse(scope, send, principal, found.matches[decision.refused_by], decision.retry_after)

    async def _refuse(
        self, scope: Scope, send: Send, principal: Principal, binding: Match, retry_after: float
    ) -> None:
        self._stats.refusals[binding.rule.rule.scope, "http"] += 1
        error = refusal(binding, retry_after)
        self._audit.record(
            "limit.refused",
            principal=principal,
            client=_client(scope),
            user_agent=_header(scope, b"user-agent"),
            http_status=429,
            http_method=scope["method"],
            http_path=scope["path"],
            error=error,
        )
        body = {"jsonrpc": "2.0", "id": None, "error": error}  # the request was not read: no id to echo
        await send_json(send, 429, body, [(b"retry-after", retry_after_header(retry_after))])


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""
