"""The audit interface every part records through (tool calls, auth events, refusals)."""

from __future__ import annotations

from typing import Any, Protocol


class AuditRecorder(Protocol):
    """Takes one event; never blocks the caller (the writer runs off the request path).

    `kind` is one of: "tools/call", "resources/read", "prompts/get", "auth.success",
    "auth.failure", "auth.denied" (policy), "limit.refused", "breaker.refused". `fields` follow
    the record schema in README (principal, client, user_agent, server, tool, http_status, ...).

    Pass `ctx=` (a ClientContext) to fill principal, client, user agent, session, request id and
    era from it. Every field is redacted before it is written (secret key names, secret-looking
    strings) and size-capped; `outcome` defaults from the kind (auth.failure: "unauthenticated").
    Calls refused through `CallHooks.admit` need no record of their own: the audit part's hooks
    write one record per call, refused ones included (outcome "denied", "rate_limited", ...).
    May be called from any thread.
    """

    def record(self, kind: str, **fields: Any) -> None: ...


class NullRecorder:
    """Records nothing (audit disabled, or in unit tests)."""

    def record(self, kind: str, **fields: Any) -> None:
        return None
