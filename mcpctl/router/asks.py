"""Server->client requests: which client a backend's ask belongs to, and its answer's way back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from mcpctl.protocol.jsonrpc import Message, notification, params_of
from mcpctl.router.actions import Action, PostToSession, SendToBackend, StreamToClient
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.links import Link
from mcpctl.router.sessions import LegacySession, SessionRegistry

if TYPE_CHECKING:
    from mcpctl.router.relay import Relay

CAPABILITY_FOR = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}


@dataclass(slots=True)
class BackendAsk:
    """A legacy backend's request, passed on to a client under our id."""

    link: Link
    backend_id: object
    call: Call | None  # the call it was attributed to (None: sent on the session's own stream)


@dataclass(slots=True)
class RelayAsk:
    """One input request of a modern backend's input_required result, asked of a legacy client."""

    call: Call
    key: str


Ask = BackendAsk | RelayAsk


class Asks:
    """Routes asks to clients and their answers back; never across sessions or principals."""

    def __init__(self, out: list[Action], sessions: SessionRegistry, relay: Relay) -> None:
        self._out = out
        self._sessions = sessions
        self._relay = relay

    def backend_asked(self, link: Link, msg: Message, now: float) -> None:
        """A server->client request from a backend: to a client that can answer, or refused."""
        method = msg["method"]
        if method == "ping":
            self._out.append(SendToBackend(link, {"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
            return
        capability = CAPABILITY_FOR.get(method)
        session, call = self._attribute(link, capability)
        if session is None:
            refusal = {"code": codes.NO_ROUTE, "message": self._no_route(link, method)}
            self._out.append(SendToBackend(link, {"jsonrpc": "2.0", "id": msg["id"], "error": refusal}))
            return
        ask_id = session.next_ask_id()
        session.asks[ask_id] = BackendAsk(link, msg["id"], call)
        out = {**msg, "id": ask_id}
        if call is not None:
            call.asking += 1
            call.progressed(now)  # the backend now waits on the client: not a stuck call
            self._out.append(StreamToClient(call, out, False))  # on the stream of its request
        else:
            self._out.append(PostToSession(session, out))

    def client_answered(self, ctx: ClientContext, msg: Message, now: float) -> None:
        """A client's response to an ask: back to the backend that asked, or into a relay round."""
        session = ctx.session
        ask = session.asks.pop(msg["id"], None) if session is not None else None
        if isinstance(ask, RelayAsk):
            self._relay.answered(ask.call, ask.key, msg, now)
        elif ask is not None:
            if ask.call is not None:
                ask.call.asking -= 1
                ask.call.progressed(now)
            if ask.link.closed:
                return
            err = msg.get("error")
            answer: Message = {"jsonrpc": "2.0", "id": ask.backend_id}
            if err is not None:
                answer["error"] = (
                    err if isinstance(err, dict) else {"code": codes.INTERNAL_ERROR, "message": "error"}
                )
            else:
                res = msg.get("result")
                answer["result"] = res if isinstance(res, dict) else {}
            self._out.append(SendToBackend(ask.link, answer))

    def backend_cancelled(self, link: Link, msg: Message) -> None:
        """A backend gave up on its own ask: forget it and tell the client."""
        backend_id = params_of(msg).get("requestId")
        for session in self._sessions_of(link):
            for ask_id, ask in list(session.asks.items()):
                if isinstance(ask, BackendAsk) and ask.link is link and ask.backend_id == backend_id:
                    if ask.call is not None:
                        ask.call.asking -= 1
                    del session.asks[ask_id]
                    params = {**params_of(msg), "requestId": ask_id}
                    self._out.append(PostToSession(session, notification("notifications/cancelled", params)))

    def _attribute(self, link: Link, capability: str | None) -> tuple[LegacySession | None, Call | None]:
        # A legacy stdio child does not say which call a server->client request belongs to. The
        # best guess: the oldest capable call not already waiting on its client (tools usually
        # ask one thing at a time). Exact for per-session children and for modern children,
        # whose requests for input come back inside their own call's result.
        capable = [
            call
            for call in link.in_flight()
            if call.ctx is not None
            and call.ctx.session is not None
            and call.ctx.era is Era.LEGACY
            and (capability is None or call.ctx.can(capability))
        ]
        if capable:
            call = next((c for c in capable if c.asking == 0), capable[0])
            assert call.ctx is not None
            return call.ctx.session, call
        if link.owner is not None:
            owner = self._sessions.peek(link.owner)
            if owner is not None and (
                capability is None or isinstance(owner.capabilities.get(capability), dict)
            ):
                return owner, None
        return None, None

    def _no_route(self, link: Link, method: str) -> str:
        modern = [c for c in link.in_flight() if c.ctx is not None and c.ctx.era is Era.MODERN]
        if modern:
            return (
                f"{method}: the calling client speaks 2026-07-28, which has no server->client requests, and "
                "mcpctl does not yet bridge them to multi round-trip requests"
            )
        return f"{method}: no connected client declared the capability to answer it"

    def _sessions_of(self, link: Link) -> list[LegacySession]:
        if link.owner is not None:
            owner = self._sessions.peek(link.owner)
            return [owner] if owner is not None else []
        return list(self._sessions)
