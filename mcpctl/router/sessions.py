"""Legacy (2025-era) sessions: what one client negotiated and what hangs off it, and their registry."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mcpctl.router.context import ANONYMOUS, Principal

if TYPE_CHECKING:
    from mcpctl.protocol.jsonrpc import RequestId
    from mcpctl.router.asks import Ask
    from mcpctl.router.calls import Call


def new_session_id() -> str:
    """128 bits from the OS's CSPRNG, as 32 hex characters (visible ASCII, as the spec requires)."""
    return secrets.token_hex(16)


@dataclass(eq=False)
class LegacySession:
    """One initialize handshake and everything that hangs off it."""

    id: str
    protocol_version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any]
    principal: Principal = ANONYMOUS
    transport: Literal["streamable", "sse"] = "streamable"
    last_seen: float = 0.0
    log_level: str | None = None
    subscriptions: set[str] = field(default_factory=set)
    # in-flight calls by the client's request id (for notifications/cancelled)
    calls: dict[RequestId, Call] = field(default_factory=dict)
    # server->client requests sent to this client and not answered yet, by the id we gave them
    asks: dict[str, Ask] = field(default_factory=dict)
    stream_open: bool = False  # a standalone stream (GET, or the legacy /sse) is being read
    io: Any = None  # the pump's handle (the outbox of the standalone stream); the router never reads it
    _asked: int = 0

    def next_ask_id(self) -> str:
        self._asked += 1
        return f"mcpctl-{self._asked}"


class SessionRegistry:
    """The sessions this instance holds, touched on every use and expired after `ttl` seconds idle.

    Time comes in as `now` (monotonic seconds): the registry never reads a clock.
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._sessions: dict[str, LegacySession] = {}

    def get(self, session_id: str, now: float) -> LegacySession | None:
        session = self._sessions.get(session_id)
        if session is None or not self._alive(session, now):
            return None  # expired; `expire` will clean it up
        session.last_seen = now
        return session

    def peek(self, session_id: str) -> LegacySession | None:
        """The session by id, without touching it (for server-initiated traffic)."""
        return self._sessions.get(session_id)

    def add(self, session: LegacySession, now: float) -> None:
        session.last_seen = now
        self._sessions[session.id] = session

    def remove(self, session_id: str) -> LegacySession | None:
        return self._sessions.pop(session_id, None)

    def expire(self, now: float) -> list[LegacySession]:
        gone = [s for s in self._sessions.values() if not self._alive(s, now)]
        for session in gone:
            del self._sessions[session.id]
        return gone

    def __iter__(self) -> Iterator[LegacySession]:
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        return len(self._sessions)

    def count(self, now: float) -> int:
        """Live sessions (expired ones not yet swept are not counted)."""
        return sum(1 for s in self._sessions.values() if self._alive(s, now))

    def _alive(self, session: LegacySession, now: float) -> bool:
        """Used within the TTL, or busy: an open stream or a call in flight is use that never expires.

        A busy session is touched whenever it is looked at (and the router sweeps regularly), so its
        idle time starts about when its last stream or call ends, not when it last sent a request.
        """
        if session.stream_open or session.calls:
            session.last_seen = now
            return True
        return now - session.last_seen <= self._ttl
