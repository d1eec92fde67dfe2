"""One client request on its way through a backend: its ids on both sides, its deadlines, its state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpctl.protocol.jsonrpc import Message, RequestId

if TYPE_CHECKING:
    from mcpctl.router.context import ClientContext
    from mcpctl.router.links import Link
    from mcpctl.router.mrtr import Exchange
    from mcpctl.router.relay import Round


class Call:
    """A request the router forwards (or holds until its server is up), from arrival to its answer."""

    __slots__ = (
        "asked",
        "asking",
        "backend_id",
        "client_id",
        "ctx",
        "deadline",
        "done",
        "exchange",
        "idle",
        "idle_deadline",
        "io",
        "link",
        "method",
        "name",
        "params",
        "progress_token",
        "replied",
        "request",
        "round",
        "rounds",
        "server",
        "started",
    )

    def __init__(
        self,
        ctx: ClientContext | None,
        client_id: RequestId | None,
        method: str,
        server: str,
        name: str | None = None,
        progress_token: Any = None,
        params: dict[str, Any] | None = None,
        started: float = 0.0,
    ) -> None:
        self.ctx = ctx
        self.client_id = client_id
        self.method = method
        self.server = server  # "" while the name is unknown and a server is still starting
        self.name = name  # the exposed tool/prompt name or resource URI, for logs and audit
        self.progress_token = progress_token
        self.params = params  # the client's params as sent (arguments for audit); not copied
        self.started = started
        self.link: Link | None = None
        self.backend_id = 0
        self.request: Message | None = None  # what it asks the server, in the server's names (for retries)
        self.idle = 0.0  # seconds without progress before the call times out
        self.idle_deadline = float("inf")
        self.deadline = float("inf")
        self.asking = 0  # server->client requests routed to this call's client, not answered yet
        self.asked = False  # the server asked something during this call
        self.replied = False  # the server answered it (not cancelled, timed out or lost)
        self.exchange: Exchange | None = None  # a modern client's rounds of input for a legacy server
        self.round: Round | None = None  # input being gathered from the client (a relayed MRTR round)
        self.rounds = 0
        self.done = False
        self.io: Any = None  # the pump's handle (the stream the client reads); the router never reads it

    def arm(self, now: float, idle: float, total: float) -> None:
        """Start the clocks: `idle` seconds without progress, `total` in any case."""
        self.idle = idle
        self.idle_deadline = now + idle
        self.deadline = self.started + total

    def progressed(self, now: float) -> None:
        self.idle_deadline = now + self.idle

    @property
    def expires(self) -> float:
        return min(self.idle_deadline, self.deadline)
