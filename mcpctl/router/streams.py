"""What the router hands the edge for each client message, and the 2026-07-28 listen streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcpctl.protocol.jsonrpc import Message, RequestId
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.sessions import LegacySession


@dataclass(frozen=True, slots=True)
class Immediate:
    """Answered without a backend (lists, initialize, ping, errors)."""

    message: Message
    status: int = 200
    session: LegacySession | None = None  # set by initialize: the edge returns its id


@dataclass(frozen=True, slots=True)
class Accepted:
    """A notification or a client's response: HTTP 202, no body."""


@dataclass(frozen=True, slots=True)
class Forwarded:
    """On its way (through a backend, or waiting for a server to start): the edge streams the call."""

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
    io: Any = None  # the pump's handle (the stream's outbox); the router never reads it

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

    def wants(self, method: str) -> bool:
        """Whether this stream opted into a list_changed notification."""
        if method == "notifications/tools/list_changed":
            return self.tools
        if method == "notifications/prompts/list_changed":
            return self.prompts
        return method == "notifications/resources/list_changed" and self.resources


@dataclass(frozen=True, slots=True)
class Listening:
    """A subscriptions/listen stream is open: send `ack`, then whatever the router posts to it."""

    listener: Listener
    ack: Message


Reply = Immediate | Accepted | Forwarded | Listening
