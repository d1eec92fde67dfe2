"""One connection to a backend as the router sees it: what it declared, and the calls it owes answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpctl.protocol.eras import Era
from mcpctl.protocol.handshake import ServerDescription

if TYPE_CHECKING:
    from mcpctl.router.calls import Call


class Link:
    """A connection to one server (shared, or a session's own child).

    The router gives every request it sends here a small integer id, unique on this link, and
    rewrites progress tokens to the same integer: a response or a progress notification finds its
    call in one lookup, and two clients that both use token 1 cannot be confused.
    """

    __slots__ = (
        "closed",
        "description",
        "internal",
        "io",
        "listen_id",
        "listen_uris",
        "next_id",
        "owner",
        "pending",
        "server",
    )

    def __init__(self, server: str, description: ServerDescription, owner: str | None = None) -> None:
        self.server = server
        self.description = description
        self.owner = owner  # the session id, for a per-session (isolated) child
        self.pending: dict[int, Call] = {}
        self.internal: dict[int, str] = {}  # the router's own requests here, by id: what they were
        self.next_id = 0
        self.listen_id: int | None = None  # a modern backend's subscriptions/listen, while open
        self.listen_uris: frozenset[str] = frozenset()
        self.closed = False
        self.io: Any = None  # the pump's handle (the connection); the router never reads it

    @property
    def era(self) -> Era:
        return self.description.era

    @property
    def capabilities(self) -> dict[str, Any]:
        return self.description.capabilities

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def in_flight(self) -> list[Call]:
        """Client calls awaiting an answer here, oldest first."""
        return list(self.pending.values())
