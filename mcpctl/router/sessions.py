"""Legacy (2025-era) sessions: what one client negotiated and what hangs off it, and their registry."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Iterable, Iterator
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


@dataclass(eq=False, slots=True)
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


@dataclass(frozen=True)
class SessionFields:
    """A session's declarative part: what any instance of a fleet needs to serve it."""

    protocol_version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any]
    log_level: str | None = None
    subscriptions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, session: LegacySession) -> SessionFields:
        return cls(
            session.protocol_version,
            session.capabilities,
            session.client_info,
            session.log_level,
            frozenset(session.subscriptions),
        )


class SessionRegistry:
    """The sessions this instance holds, touched on every use and expired after `ttl` seconds idle.

    Bounded in all and per principal: past a bound, the least recently used idle session of that
    principal (or of anyone) makes room; its client gets 404 and starts again. Time comes in as
    `now` (monotonic seconds): the registry never reads a clock.
    """

    def __init__(self, ttl: float, max_total: int = 10_000, max_per_principal: int = 1_000) -> None:
        self._ttl = ttl
        self.max_total = max_total
        self.max_per_principal = max_per_principal
        self._sessions: OrderedDict[str, LegacySession] = OrderedDict()  # least recently used first
        self._by_principal: dict[str, OrderedDict[str, LegacySession]] = {}

    def get(self, session_id: str, now: float) -> LegacySession | None:
        session = self._sessions.get(session_id)
        if session is None or not self._alive(session, now):
            return None  # expired; `expire` will clean it up
        session.last_seen = now
        self._sessions.move_to_end(session_id)
        self._by_principal[_owner(session)].move_to_end(session_id)
        return session

    def make_room(self, principal: Principal) -> list[LegacySession] | None:
        """The idle sessions to end so that one more session of `principal` fits (None: all are busy)."""
        evict: list[LegacySession] = []
        mine = self._by_principal.get(f"{principal.kind}:{principal.name}", OrderedDict())
        if len(mine) >= self.max_per_principal:
            victim = _least_recent_idle(mine.values(), evict)
            if victim is None:
                return None
            evict.append(victim)
        if len(self._sessions) - len(evict) >= self.max_total:
            victim = _least_recent_idle(self._sessions.values(), evict)
            if victim is None:
                return None
            evict.append(victim)
        return evict

    def peek(self, session_id: str) -> LegacySession | None:
        """The session by id, without touching it (for server-initiated traffic)."""
        return self._sessions.get(session_id)

    def add(self, session: LegacySession, now: float) -> None:
        session.last_seen = now
        self._sessions[session.id] = session
        self._by_principal.setdefault(_owner(session), OrderedDict())[session.id] = session

    def remove(self, session_id: str) -> LegacySession | None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            owner = _owner(session)
            mine = self._by_principal.get(owner)
            if mine is not None:
                mine.pop(session_id, None)
                if not mine:
                    del self._by_principal[owner]
        return session

    def expire(self, now: float) -> list[LegacySession]:
        gone = [s for s in self._sessions.values() if not self._alive(s, now)]
        for session in gone:
            self.remove(session.id)
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


def _owner(session: LegacySession) -> str:
    return f"{session.principal.kind}:{session.principal.name}"


def _least_recent_idle(sessions: Iterable[LegacySession], taken: list[LegacySession]) -> LegacySession | None:
    for session in sessions:
        if not session.stream_open and not session.calls and session not in taken:
            return session
    return None
