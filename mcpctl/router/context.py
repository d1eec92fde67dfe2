"""Who is asking: the client context every request through the gateway carries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcpctl.protocol.eras import LEGACY, Era

if TYPE_CHECKING:
    from mcpctl.router.sessions import LegacySession


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an API key's name or a token's subject."""

    name: str
    kind: str  # "anonymous", "api-key" or "oauth"
    scopes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


ANONYMOUS = Principal(name="anonymous", kind="anonymous")


def principal_tag(principal: Principal) -> str:
    """Who a principal is, as a short digest (what sealed state and shared session records keep)."""
    return hashlib.sha256(f"{principal.kind}\0{principal.name}".encode()).hexdigest()[:32]


@dataclass(slots=True)
class ClientContext:
    """One request's view of its client: era, version, capabilities, session and principal."""

    era: Era
    protocol_version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any]
    session: LegacySession | None = None
    principal: Principal = ANONYMOUS
    log_level: str | None = None
    remote: str = ""
    user_agent: str = ""
    request_id: str = ""  # the edge's id for this HTTP request (audit correlation)
    # in a fleet: the shared rate limits' verdict on this request, per bucket (ms to wait; 0: taken)
    verdicts: tuple[int, ...] | None = None
    forwarded: bool = False  # another instance of the fleet passed this message on

    @classmethod
    def for_session(cls, session: LegacySession, **request: Any) -> ClientContext:
        """A request's context within a 2025-era session: what the session negotiated, plus `request`
        (remote, user_agent, principal: the session's own unless given)."""
        request.setdefault("principal", session.principal)
        return cls(
            LEGACY,
            session.protocol_version,
            session.capabilities,
            session.client_info,
            session,
            log_level=session.log_level,
            **request,
        )

    def can(self, capability: str) -> bool:
        """Whether the client declared a top-level capability (sampling, elicitation, roots)."""
        return isinstance(self.capabilities.get(capability), dict)
