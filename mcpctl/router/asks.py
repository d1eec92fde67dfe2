"""Server->client requests: exactly which call a backend's question belongs to, and the answer's way back.

A question goes to the client whose call caused it, or to nobody. On a shared legacy stdio
child nothing on the wire says whose it is; the forwarder lets a call that may be asked about
run alone there, so a question during it is its own. Where several calls are in flight when a
question comes (tools learned never to ask, running beside it), the question waits until all
but one of them have ended; if that does not happen soon, it is refused and those tools run
alone from then on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mcpctl.protocol import codes
from mcpctl.protocol.capabilities import NEEDS, declares
from mcpctl.protocol.eras import MODERN
from mcpctl.protocol.jsonrpc import Message, notification, params_of
from mcpctl.router.actions import Action, AnswerElsewhere, PostToSession, SendToBackend, StreamToClient
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.links import Link
from mcpctl.router.servers import ServerSlot
from mcpctl.router.sessions import LegacySession, SessionRegistry

if TYPE_CHECKING:
    from mcpctl.router.mrtr import InputRounds, Sealer
    from mcpctl.router.relay import Relay

ATTRIBUTION_WAIT: Final = 5.0  # how long a question waits for the other calls in flight to end


@dataclass(slots=True)
class BackendAsk:
    """A legacy backend's request, passed on to a client under our id."""

    link: Link
    # Any, not object, in this and the other dataclasses of the router: a mypyc build looks their
    # annotations up among the module's own names, where object is not (tests/support/compiled.py)
    backend_id: Any
    call: Call | None  # the call it belongs to (None: a per-session child asking outside any call)


@dataclass(slots=True)
class RelayAsk:
    """One input request of a modern backend's input_required result, asked of a legacy client."""

    call: Call
    key: str


@dataclass(slots=True)
class Unattributed:
    """A question that came while several calls were in flight: one of them asked it."""

    link: Link
    msg: Message
    candidates: list[Call]
    deadline: float


Ask = BackendAsk | RelayAsk


class AskIds:
    """Ids for questions put to clients. In a fleet they name the instance that asked, signed, so that
    the answer, wherever it lands, is routed there (and nobody can aim answers at an instance)."""

    def __init__(self, instance: str, sealer: Sealer, fleet: bool) -> None:
        self.instance = instance
        self._sealer = sealer
        self._fleet = fleet

    def new(self, session: LegacySession) -> str:
        ask_id = session.next_ask_id()
        if not self._fleet:
            return ask_id
        base = f"{ask_id}.{self.instance}"
        return f"{base}.{self._sealer.sign(f'{session.id}/{base}')}"

    def owner(self, session: LegacySession, ask_id: object) -> str | None:
        """The instance an answer belongs to, when the id is a signed one of the fleet's."""
        if not self._fleet or not isinstance(ask_id, str) or ask_id.count(".") < 2:
            return None
        base, _, mac = ask_id.rpartition(".")
        if not self._sealer.signed(f"{session.id}/{base}", mac):
            return None
        return base.partition(".")[2]


class Asks:
    """Routes questions to the client that caused them, answers back; never across sessions or principals."""

    def __init__(
        self,
        out: list[Action],
        sessions: SessionRegistry,
        servers: dict[str, ServerSlot],
        relay: Relay,
        rounds: InputRounds,
        clock: Callable[[], float],
        ids: AskIds,
    ) -> None:
        self.ids = ids
        self._clock = clock  # the time of the router's current input
        self._out = out
        self._sessions = sessions
        self._servers = servers
        self._relay = relay
        self._rounds = rounds
        self.waiting: list[Unattributed] = []

    @property
    def earliest(self) -> float:
        if not self.waiting:  # asked on every call's way through: the usual answer without a generator
            return math.inf
        return min((u.deadline for u in self.waiting), default=math.inf)

    # -- questions from backends -----------------------------------------------------------------

    def backend_asked(self, link: Link, msg: Message, now: float, related: object = None) -> None:
        """A server->client request: to the client whose call caused it, or answered here."""
        if msg["method"] == "ping":
            self._answer(link, msg, {"result": {}})
            return
        if related is not None:
            call = link.pending.get(related) if type(related) is int else None
            candidates = [call] if call is not None else []
        else:
            candidates = [c for c in link.pending.values() if c.ctx is not None]
        if len(candidates) == 1:
            self._deliver(candidates[0], link, msg, now)
        elif candidates:
            self.waiting.append(Unattributed(link, msg, candidates, now + ATTRIBUTION_WAIT))
        else:
            self._outside_calls(link, msg)

    def call_ended(self, call: Call) -> None:
        """A call left its link: questions that waited to know whose they are may know now, and
        questions asked for it (a relayed round, ended by a cancel) are withdrawn from its client."""
        session = call.ctx.session if call.ctx is not None else None
        if call.round is not None and session is not None:
            call.round = None
            for ask_id, ask in list(session.asks.items()):
                if isinstance(ask, RelayAsk) and ask.call is call:
                    del session.asks[ask_id]
                    params = {"requestId": ask_id, "reason": "the call it was asked for is over"}
                    self._out.append(PostToSession(session, notification("notifications/cancelled", params)))
        for item in list(self.waiting) if self.waiting else ():
            if call in item.candidates:
                item.candidates.remove(call)
            if len(item.candidates) <= 1:
                self.waiting.remove(item)
                if item.candidates:
                    self._deliver(item.candidates.pop(), item.link, item.msg, self._clock())
                else:
                    self._refuse(item.link, item.msg, "the call that asked it is over")

    def expire(self, now: float) -> None:
        """Questions still unattributed: refused, and the tools that might have asked now run alone."""
        for item in [u for u in self.waiting if u.deadline <= now]:
            self.waiting.remove(item)
            slot = self._servers[item.link.server]
            for call in item.candidates:
                slot.learn(call.name, asked=True)
            text = (
                "mcpctl could not tell which of several concurrent calls asked this; "
                "calls to these tools now run one at a time"
            )
            self._refuse(item.link, item.msg, text)

    def _deliver(self, call: Call, link: Link, msg: Message, now: float) -> None:
        call.asked = True
        if link.shares_asks:
            self._servers[link.server].learn(call.name, asked=True)  # it runs alone from now on
        ctx = call.ctx
        assert ctx is not None
        if ctx.era is MODERN:
            self._rounds.asked(call, link, msg, now)
            return
        if not declares(ctx.capabilities, msg["method"], params_of(msg)) or ctx.session is None:
            self._refuse(link, msg, "the calling client did not declare the capability to answer it")
            return
        call.asking += 1
        call.progressed(now)  # the backend now waits on the client: not a stuck call
        self._out.append(StreamToClient(call, self._register(ctx.session, link, msg, call), False))

    def _outside_calls(self, link: Link, msg: Message) -> None:
        """A question outside any call: to a per-session child's session, configured roots, or refused."""
        method = msg["method"]
        owner = self._sessions.peek(link.owner) if link.owner is not None else None
        if owner is not None and declares(owner.capabilities, method, params_of(msg)):
            self._out.append(PostToSession(owner, self._register(owner, link, msg, None)))
            return
        roots = self._servers[link.server].rules.roots
        if method == "roots/list" and roots is not None:
            self._answer(link, msg, {"result": {"roots": [{"uri": uri} for uri in roots]}})
            return
        # As a client without the capability answers. A server that asks roots/list right after
        # initialize and is refused asks again during a call, where its caller can answer.
        text = "no client is in a call with this server" if method in NEEDS else "not supported"
        self._answer(link, msg, {"error": {"code": codes.METHOD_NOT_FOUND, "message": f"{method}: {text}"}})

    def _register(self, session: LegacySession, link: Link, msg: Message, call: Call | None) -> Message:
        ask_id = self.ids.new(session)
        session.asks[ask_id] = BackendAsk(link, msg["id"], call)
        return {**msg, "id": ask_id}

    def _refuse(self, link: Link, msg: Message, why: str) -> None:
        method = msg["method"]
        self._answer(link, msg, {"error": {"code": codes.METHOD_NOT_FOUND, "message": f"{method}: {why}"}})

    def _answer(self, link: Link, msg: Message, body: Message) -> None:
        if not link.closed:
            self._out.append(SendToBackend(link, {"jsonrpc": "2.0", "id": msg["id"], **body}))

    # -- answers from clients --------------------------------------------------------------------

    def client_answered(self, ctx: ClientContext, msg: Message, now: float) -> None:
        """A client's response to a question: back to the backend that asked, or into a relay round."""
        session = ctx.session
        ask = session.asks.pop(msg["id"], None) if session is not None else None
        if ask is None and session is not None:
            owner = self.ids.owner(session, msg["id"])
            if owner is not None and owner != self.ids.instance:
                self._out.append(AnswerElsewhere(owner, session.id, msg))  # asked on another instance
            return
        if isinstance(ask, RelayAsk):
            self._relay.answered(ask.call, ask.key, msg, now)
        elif ask is not None:
            if ask.call is not None:
                ask.call.asking -= 1
                ask.call.progressed(now)
            err = msg.get("error")
            if err is not None:
                body = {
                    "error": err
                    if isinstance(err, dict)
                    else {"code": codes.INTERNAL_ERROR, "message": "error"}
                }
            else:
                res = msg.get("result")
                body = {"result": res if isinstance(res, dict) else {}}
            self._answer(ask.link, {"id": ask.backend_id}, body)

    def backend_cancelled(self, link: Link, msg: Message) -> None:
        """A backend gave up on its own question: forget it and tell the client."""
        backend_id = params_of(msg).get("requestId")
        for call in link.pending.values():
            if self._rounds.withdrawn(call, backend_id):
                return
        self.waiting = [u for u in self.waiting if not (u.link is link and u.msg["id"] == backend_id)]
        for session in self._sessions_of(link):
            for ask_id, ask in list(session.asks.items()):
                if isinstance(ask, BackendAsk) and ask.link is link and ask.backend_id == backend_id:
                    if ask.call is not None:
                        ask.call.asking -= 1
                    del session.asks[ask_id]
                    params = {**params_of(msg), "requestId": ask_id}
                    self._out.append(PostToSession(session, notification("notifications/cancelled", params)))

    def _sessions_of(self, link: Link) -> list[LegacySession]:
        if link.owner is not None:
            owner = self._sessions.peek(link.owner)
            return [owner] if owner is not None else []
        return list(self._sessions)
