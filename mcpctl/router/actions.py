"""What the router asks the pump to do: the only way its decisions reach sockets, pipes and tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcpctl.protocol.jsonrpc import Message

if TYPE_CHECKING:
    from mcpctl.router.calls import Call
    from mcpctl.router.links import Link
    from mcpctl.router.sessions import LegacySession
    from mcpctl.router.streams import Listener


@dataclass(frozen=True, slots=True)
class SendToBackend:
    """Write `message` to the backend behind `link`."""

    link: Link
    message: Message


@dataclass(frozen=True, slots=True)
class StreamToClient:
    """Put `message` on the stream of the client's request `call`; `final` ends it."""

    call: Call
    message: Message
    final: bool


@dataclass(frozen=True, slots=True)
class PostToSession:
    """Put `message` on a legacy session's standalone stream (GET, or the legacy /sse)."""

    session: LegacySession
    message: Message


@dataclass(frozen=True, slots=True)
class PostToListener:
    """Put `message` on a 2026-07-28 subscriptions/listen stream."""

    listener: Listener
    message: Message


@dataclass(frozen=True, slots=True)
class RefreshLists:
    """Read `kinds` of lists from the backend again, then feed `Router.lists_read`."""

    link: Link
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OpenLink:
    """Start a session's own child of `server` (isolation = "session"), then feed `Router.link_up`."""

    server: str
    owner: str


@dataclass(frozen=True, slots=True)
class EndSession:
    """A session is gone (DELETE, expiry, shutdown): close its streams, stop its own children."""

    session: LegacySession


@dataclass(frozen=True, slots=True)
class CancelElsewhere:
    """In a fleet: a client cancelled a call this instance does not run; the one that does must hear it."""

    session_id: str
    message: Message


@dataclass(frozen=True, slots=True)
class RetryElsewhere:
    """In a fleet: a retry whose call another instance holds. The pump sends it there and relays what
    comes back onto `call`'s stream (the call is this instance's stand-in; the router keeps no state)."""

    instance: str
    call: Call
    message: Message


@dataclass(frozen=True, slots=True)
class CallElsewhere:
    """In a fleet: a request for a server that another instance runs (placement = "one"). The pump
    sends `message` there and relays what comes back onto `call`'s stream (the router is done with it)."""

    instance: str
    call: Call
    message: Message


@dataclass(frozen=True, slots=True)
class SubscribeElsewhere:
    """In a fleet: clients here want (or no longer want) `uri` of a server another instance runs."""

    instance: str
    server: str
    uri: str
    wanted: bool


@dataclass(frozen=True, slots=True)
class UpdateElsewhere:
    """In a fleet: a resource of a server this instance runs changed; `instances` have clients watching it."""

    instances: tuple[str, ...]
    message: Message


@dataclass(frozen=True, slots=True)
class Broadcast:
    """In a fleet: `message` for every session's stream, once, unless `digest` (the new view) was sent."""

    message: Message
    digest: str


@dataclass(frozen=True, slots=True)
class AnswerElsewhere:
    """A client's answer to a question another instance of the fleet asked: route it there."""

    instance: str
    session_id: str
    message: Message


@dataclass(frozen=True, slots=True)
class Warn:
    """Something an operator should read in the log."""

    text: str


Action = (
    SendToBackend
    | StreamToClient
    | PostToSession
    | PostToListener
    | RefreshLists
    | OpenLink
    | EndSession
    | AnswerElsewhere
    | Broadcast
    | CallElsewhere
    | CancelElsewhere
    | RetryElsewhere
    | SubscribeElsewhere
    | UpdateElsewhere
    | Warn
)
