"""One connection to a backend as the router sees it: what it declared, and the calls it owes answers."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from mcpctl.protocol.eras import LEGACY, Era
from mcpctl.protocol.handshake import ServerDescription
from mcpctl.protocol.jsonrpc import Message

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
        "exact_asks",
        "exclusive",
        "internal",
        "io",
        "listen_id",
        "listen_uris",
        "next_id",
        "owner",
        "pending",
        "queue",
        "server",
    )

    def __init__(
        self, server: str, description: ServerDescription, owner: str | None = None, exact_asks: bool = False
    ) -> None:
        self.server = server
        self.description = description
        self.owner = owner  # the session id, for a per-session (isolated) child
        # Whether the transport says which request each of the server's own requests belongs to
        # (Streamable HTTP: the POST stream it came on). A stdio child never does.
        self.exact_asks = exact_asks
        # A call that may be asked about runs alone on a shared legacy child: an ask can only be its.
        self.exclusive: Call | None = None
        self.queue: deque[tuple[Call, Message]] = deque()  # calls waiting for `exclusive` to end
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

    @property
    def shares_asks(self) -> bool:
        """Whether a server->client request here could belong to any of several clients' calls."""
        return self.description.era is LEGACY and self.owner is None and not self.exact_asks
