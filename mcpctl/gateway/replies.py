"""What the engine hands the edge for each client message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.sessions import LegacySession, Outbox
from mcpctl.protocol.jsonrpc import Message, RequestId


@dataclass(frozen=True)
class Immediate:
    """Answered without a backend (lists, initialize, ping, errors)."""

    message: Message
    status: int = 200
    session: LegacySession | None = None  # set by initialize: the edge returns its id


@dataclass(frozen=True)
class Accepted:
    """A notification or a client's response: HTTP 202, no body."""


@dataclass(frozen=True)
class Forwarded:
    """On its way through a backend: the edge streams `Gateway.stream(call)`."""

    call: Call


@dataclass(eq=False)
class Listener:
    """A 2026-07-28 `subscriptions/listen` stream and the notifications it opted into."""

    request_id: RequestId
    ctx: ClientContext
    tools: bool = False
    prompts: bool = False
    resources: bool = False
    uris: frozenset[str] = frozenset()
    outbox: Outbox = field(default_factory=Outbox)

    def accepted_filter(self) -> dict[str, Any]:
        agreed: dict[str, Any] = {}
        if self.tools:
            agreed["toolsListChanged"] = True
        if self.prompts:
            agreed["promptsListChanged"] = True
        if self.resources:
            agreed["resourcesListChanged"] = True
        if self.uris:
            agreed["resourceSubscriptions"] = sorted(self.uris)
        return agreed


@dataclass(frozen=True)
class Listening:
    """A subscriptions/listen stream is open: send `ack`, then whatever lands in the outbox."""

    listener: Listener
    ack: Message


Reply = Immediate | Accepted | Forwarded | Listening
