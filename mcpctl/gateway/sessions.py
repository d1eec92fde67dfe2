"""Legacy (2025-era) sessions: what one client negotiated, its streams, and a store with TTL."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ANONYMOUS, Principal
from mcpctl.gateway.mailbox import Mailbox
from mcpctl.protocol.jsonrpc import Message, RequestId

# Messages kept for a session whose standalone stream is not open (or reads slowly);
# past this the oldest are dropped: list_changed and logs are hints, not data.
OUTBOX_LIMIT = 256


class Outbox(Mailbox):
    """Server-initiated messages for one session's standalone stream (GET, or legacy /sse)."""

    __slots__ = ("_items", "closed", "dropped")

    def __init__(self) -> None:
        self._items: deque[Message] = deque()
        self._waiter = None
        self.closed = False
        self.dropped = 0

    def put(self, msg: Message) -> None:
        if self.closed:
            return
        if len(self._items) >= OUTBOX_LIMIT:
            self._items.popleft()
            self.dropped += 1
        self._items.append(msg)
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def kick(self) -> None:
        """Wake a reader without a message (its stream is going away; the outbox stays)."""
        self._wake()

    async def next(self, timeout: float) -> Message | None:
        """The next message, or None on timeout or close (check `closed`)."""
        if not self._items and not self.closed:
            await self._wait(timeout)
        return self._items.popleft() if self._items else None


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
    created: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)
    log_level: str | None = None
    subscriptions: set[str] = field(default_factory=set)
    # in-flight calls by the client's request id (for notifications/cancelled)
    calls: dict[RequestId, Call] = field(default_factory=dict)
    # server->client requests we sent this client: our id -> (upstream, backend's id, the call it
    # was routed to), or a future when the gateway itself asked (relaying a multi round-trip request)
    client_requests: dict[str, tuple[Any, Any, Any] | asyncio.Future[Message]] = field(default_factory=dict)
    outbox: Outbox = field(default_factory=Outbox)
    stream_open: bool = False
    _request_counter: int = 0

    def next_client_request_id(self) -> str:
        self._request_counter += 1
        return f"mcpctl-{self._request_counter}"

    def expect_answer(self) -> tuple[str, asyncio.Future[Message]]:
        """An id for a request the gateway sends this client, and a future for the answer."""
        request_id = self.next_client_request_id()
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.client_requests[request_id] = answer
        return request_id, answer


class SessionStore(Protocol):
    """The sessions this instance holds, with idle expiry.

    Sessions with live streams are local by nature. Scaling out adds a shared directory behind
    this interface, consulted on a local miss: it answers what a session negotiated (version,
    capabilities, principal) so another instance can take over a client the load balancer moved.
    """

    def get(self, session_id: str) -> LegacySession | None: ...

    def add(self, session: LegacySession) -> None: ...

    def remove(self, session_id: str) -> LegacySession | None: ...

    def expire(self) -> list[LegacySession]: ...

    def all(self) -> list[LegacySession]: ...

    def count(self) -> int: ...


class MemorySessionStore:
    """Sessions in a dict, touched on every use and expired after `ttl` seconds idle."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._sessions: dict[str, LegacySession] = {}

    def get(self, session_id: str) -> LegacySession | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if not self._alive(session, now):
            return None  # expired; `expire` will clean it up
        session.last_seen = now
        return session

    def add(self, session: LegacySession) -> None:
        session.last_seen = self._clock()
        self._sessions[session.id] = session

    def remove(self, session_id: str) -> LegacySession | None:
        return self._sessions.pop(session_id, None)

    def expire(self) -> list[LegacySession]:
        now = self._clock()
        gone = [s for s in self._sessions.values() if not self._alive(s, now)]
        for session in gone:
            del self._sessions[session.id]
        return gone

    def all(self) -> list[LegacySession]:
        return list(self._sessions.values())

    def count(self) -> int:
        """Live sessions (expired ones not yet swept are not counted)."""
        now = self._clock()
        return sum(1 for s in self._sessions.values() if self._alive(s, now))

    def _alive(self, session: LegacySession, now: float) -> bool:
        """Used within the TTL, or busy: an open stream or a call in flight is use that never expires.

        A busy session is touched whenever it is looked at (and the host sweeps regularly), so its
        idle time starts about when its last stream or call ends, not when it last sent a request.
        """
        if session.stream_open or session.calls:
            session.last_seen = now
            return True
        return now - session.last_seen <= self._ttl
