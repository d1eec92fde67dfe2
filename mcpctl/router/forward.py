"""Calls on their way to backends: link choice, id and token mapping, waiting, cancellation, deadlines."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mcpctl.protocol import codes
from mcpctl.protocol.capabilities import can_be_asked
from mcpctl.protocol.jsonrpc import Message, error, notification
from mcpctl.router.actions import Action, CallElsewhere, OpenLink, SendToBackend, StreamToClient
from mcpctl.router.adapt import request_for_backend
from mcpctl.router.calls import Call
from mcpctl.router.hooks import CallHooks
from mcpctl.router.links import Link
from mcpctl.router.servers import ServerSlot

CANCELLED_PREFIX = "cancelled: "


class Forwarder:
    """Owns every live call: each ends exactly once, in `finish`, whatever happens to it."""

    def __init__(self, out: list[Action], hooks: CallHooks, servers: dict[str, ServerSlot]) -> None:
        self._out = out
        self._hooks = hooks
        self._servers = servers
        # every call answered later, in arrival order (a dict: the router decides the same way every run)
        self.live: dict[Call, None] = {}
        self.earliest = math.inf  # no live call expires before this (a lower bound)
        self.now = 0.0  # the time of the router's current input (the router keeps it current)
        self.ended: list[Callable[[Call], None]] = []  # told when a call stops being in flight at a link
        # a modern client's call waiting on its input (settling or suspended) past its deadline
        self.input_deadline: Callable[[Call, float], None] = lambda call, now: None

    # -- starting ------------------------------------------------------------------------------

    def start(self, call: Call, request: Message, now: float) -> None:
        """Send `request` (in the server's names) for `call`, or hold it until its server can take it."""
        rules = self._servers[call.server].rules
        call.arm(now, rules.call_timeout, rules.max_call_timeout)
        self.track(call)
        self.route(call, request, now)

    def track(self, call: Call) -> None:
        """A call the router answers later (forwarded, or waiting): deadlines and cancellation apply."""
        self.live[call] = None
        session = call.ctx.session if call.ctx is not None else None
        if session is not None and call.client_id is not None:
            session.calls[call.client_id] = call
        self.earliest = min(self.earliest, call.expires)

    def route(self, call: Call, request: Message, now: float) -> None:
        slot = self._servers[call.server]
        if slot.runs_on is not None:  # it moved to another instance while the call waited for it
            self.hand_off(call, slot.runs_on)
            return
        session = call.ctx.session if call.ctx is not None else None
        if slot.rules.isolation == "session" and session is not None:
            link = slot.session_links.get(session.id)
            if link is None:
                if slot.state in ("crash-loop", "stopped"):
                    self.unavailable(call, slot.unavailable(now))
                    return
                waiting = slot.opening.get(session.id)
                if waiting is None:
                    waiting = slot.opening[session.id] = []
                    self._out.append(OpenLink(slot.name, session.id))
                waiting.append((call, request))
                self._hold(call, now + slot.rules.startup_timeout)
                return
        else:
            link = slot.shared
            if link is None:
                if slot.state in ("starting", "backoff"):
                    slot.parked.append((call, request))
                    self._hold(call, now + slot.wait())
                else:
                    self.unavailable(call, slot.unavailable(now))
                return
        if self._must_wait(call, link):
            call.link = link  # in line: on this link, not sent (its backend id is 0)
            link.queue.append((call, request))
            return
        self.send(call, link, request)

    def send(self, call: Call, link: Link, request: Message) -> None:
        """Send `request` (in the server's names) for `call` as its link's era wants it, under a new id."""
        backend_id = link.new_id()
        call.backend_id = backend_id
        call.link = link
        call.request = request
        link.pending[backend_id] = call
        described = link.description  # (not `link.era`, a property: this runs once per call)
        out = request_for_backend(request, call.ctx, described.era, described.protocol_version, backend_id)
        self._out.append(SendToBackend(link, out))

    def _hold(self, call: Call, until: float) -> None:
        # Waiting for the server is not the server being slow: the wait has its own limit (the
        # call's total still applies), and the idle clock starts when the call is sent.
        call.idle_deadline = until
        self.earliest = min(self.earliest, call.expires)

    def release(self, held: list[tuple[Call, Message]], link: Link | None, now: float, why: str) -> None:
        """Send what waited for a link that is now up (or fail it, when the link could not be had)."""
        for call, request in held:
            if call.done:
                continue
            if link is None:
                self.unavailable(call, why)
            else:
                call.progressed(now)
                self.route(call, request, now)

    # -- one at a time where a question could belong to anyone --------------------------------------

    def _askable(self, call: Call, link: Link) -> bool:
        """A call whose client could be asked things, for a tool not known to never ask."""
        ctx = call.ctx
        slot = self._servers[link.server]
        return ctx is not None and can_be_asked(ctx.capabilities) and call.name not in slot.quiet

    def _must_wait(self, call: Call, link: Link) -> bool:
        """On a shared legacy stdio child nothing says which call a question belongs to: a call that
        may be asked about runs alone, so that a question during it can only be its own."""
        if not link.shares_asks:
            return False
        if link.exclusive is not None:
            return not self._beside(call, link)
        if self._askable(call, link):
            if any(c.ctx is not None for c in link.pending.values()):
                return True
            link.exclusive = call
            return False
        return bool(link.queue)  # behind a call that waits to run alone: first come, first served

    def _beside(self, call: Call, link: Link) -> bool:
        """Calls that cannot be asked about (tools that never asked, clients that cannot answer) may run
        beside the exclusive call, in arrival order: a question during both waits to know whose it is.
        So a client that left a round unanswered holds up only the calls that could be asked things."""
        return not self._askable(call, link) and not link.queue

    def _advance(self, link: Link) -> None:
        """The link's exclusive call ended, or a call left it: start what waited, in order."""
        while link.queue and not link.closed:
            call, request = link.queue[0]
            if call.done:
                link.queue.popleft()
                continue
            if self._must_wait_in_line(call, link):
                return
            link.queue.popleft()
            call.progressed(self.now)  # the idle clock starts when the call is sent
            self.send(call, link, request)

    def _must_wait_in_line(self, call: Call, link: Link) -> bool:
        if link.exclusive is not None:
            return self._askable(call, link)
        if self._askable(call, link):
            if any(c.ctx is not None for c in link.pending.values()):
                return True
            link.exclusive = call
        return False

    def left_link(self, call: Call) -> None:
        """The call no longer waits for its link (answered, cancelled, failed)."""
        link = call.link
        if link is None:
            return
        if link.pending.get(call.backend_id) is call:
            del link.pending[call.backend_id]
        if link.exclusive is call:
            link.exclusive = None
            if call.replied or call.asked:  # a call cut short says nothing about whether its tool asks
                self._servers[link.server].learn(call.name, call.asked)
        for listener in self.ended:
            listener(call)
        if link.queue:  # calls waited behind this one (tested here: this runs once per call)
            self._advance(link)

    def hand_off(self, call: Call, instance: str) -> None:
        """In a fleet: another instance runs the call's server; the call goes there as its client sent it.

        The router is done with it (no deadline, no answer of its own): the pump relays what that
        instance says onto the call's stream, and that instance's router decides the rest.
        """
        if call.done:
            return
        call.done = True
        self.live.pop(call, None)
        session = call.ctx.session if call.ctx is not None else None
        if session is not None and session.calls.get(call.client_id) is call:  # type: ignore[arg-type]
            del session.calls[call.client_id]  # type: ignore[arg-type]
        message = {"jsonrpc": "2.0", "id": call.client_id, "method": call.method, "params": call.params or {}}
        self._out.append(CallElsewhere(instance, call, message))

    # -- ending --------------------------------------------------------------------------------

    def finish(self, call: Call, msg: Message, outcome: str | None = None) -> None:
        """The call's answer for the client; every forwarded call ends here exactly once."""
        if call.done:
            return
        self._hooks.finished(call, msg, outcome or outcome_of(msg))
        self.conclude(call, msg)

    def conclude(self, call: Call, msg: Message) -> None:
        """End a call with `msg`, without the hooks (a refusal already told them)."""
        if call.done:
            return
        call.done = True
        self.live.pop(call, None)
        session = call.ctx.session if call.ctx is not None else None
        if session is not None and call.client_id is not None:
            session.calls.pop(call.client_id, None)
        self._out.append(StreamToClient(call, msg, True))
        self.left_link(call)

    def end_round(self, call: Call, msg: Message, outcome: str) -> None:
        """A client request ends (`msg`) while its call goes on at the backend (waiting for input)."""
        self._hooks.finished(call, msg, outcome)
        self._out.append(StreamToClient(call, msg, True))

    def drop(self, call: Call, reason: str) -> None:
        """End a call nobody is waiting for (its client is gone between rounds); the backend is told."""
        if call.done:
            return
        call.done = True
        self.live.pop(call, None)
        self.stop_at_backend(call, reason)
        self.left_link(call)

    def unavailable(self, call: Call, why: str) -> None:
        self.finish(call, error(call.client_id, codes.BACKEND_UNAVAILABLE, why), "unavailable")

    def cancel(self, call: Call, reason: str) -> None:
        """The client went away or asked to cancel: tell the backend, stop waiting."""
        if call.done:
            return
        self.stop_at_backend(call, reason)
        self.finish(call, error(call.client_id, codes.INTERNAL_ERROR, CANCELLED_PREFIX + reason), "cancelled")

    def stop_at_backend(self, call: Call, reason: str) -> None:
        link = call.link
        if link is not None and link.pending.pop(call.backend_id, None) is not None and not link.closed:
            params = {"requestId": call.backend_id, "reason": reason}
            self._out.append(SendToBackend(link, notification("notifications/cancelled", params)))

    def link_lost(self, link: Link, reason: str) -> None:
        """The connection closed: every call it owed an answer, or that waited for it, fails now."""
        link.closed = True
        pending, link.pending = link.pending, {}
        waiting, link.queue = list(link.queue), link.queue.__class__()
        link.internal.clear()
        link.exclusive = None
        why = f"server {link.server!r} is unavailable: {reason}"
        for call in [*pending.values(), *(c for c, _ in waiting)]:
            self.unavailable(call, why)

    def send_failed(self, link: Link, msg: Message, reason: str) -> None:
        """The pump could not write `msg`: release its call and answer the client at once."""
        request_id = msg.get("id")
        if type(request_id) is not int:
            return
        link.internal.pop(request_id, None)
        call = link.pending.get(request_id)
        if call is not None:
            self.unavailable(call, f"server {link.server!r} could not be sent the request: {reason}")

    # -- time ----------------------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Fail every call past a deadline; recompute `earliest`."""
        for call in list(self.live):
            if call.expires <= now and not call.done:
                self._expired(call, now)
        self.earliest = min((call.expires for call in self.live), default=math.inf)

    def _expired(self, call: Call, now: float) -> None:
        slot = self._servers.get(call.server)
        if call.exchange is not None and call.exchange.phase != "running":
            self.input_deadline(call, now)
        elif call.round is not None:
            text = f"the client did not answer server {call.server!r}'s request for input in time"
            self.finish(call, error(call.client_id, codes.BACKEND_TIMEOUT, text), "error")
        elif call.link is None:
            why = slot.unavailable(now) if slot is not None else f"no server offers {call.name!r} yet"
            self.unavailable(call, why)
        elif call.backend_id not in call.link.pending:  # still in line behind a call running alone
            text = f"server {call.server!r} was busy with calls that may ask their clients for input"
            self.finish(call, error(call.client_id, codes.BACKEND_TIMEOUT, text), "error")
        else:
            idled = call.idle_deadline < call.deadline
            limit = (
                f"{call.idle:g}s without progress" if idled else f"{call.deadline - call.started:g}s in total"
            )
            self.stop_at_backend(call, "timed out")
            text = f"server {call.server!r} did not answer within {limit}"
            self.finish(call, error(call.client_id, codes.BACKEND_TIMEOUT, text), "timeout")


def outcome_of(msg: Message) -> str:
    """How a call ended, from the answer the client gets: ok, tool_error, error, unavailable, cancelled."""
    err: Any = msg.get("error")
    if isinstance(err, dict):
        if err.get("code") == codes.BACKEND_UNAVAILABLE:
            return "unavailable"  # the transport failed mid-call (the child died, the URL went away)
        if err.get("code") == codes.INTERNAL_ERROR and str(err.get("message", "")).startswith(
            CANCELLED_PREFIX
        ):
            return "cancelled"
        return "error"
    if "error" in msg:
        return "error"
    res = msg.get("result")
    if isinstance(res, dict) and res.get("isError") is True:
        return "tool_error"
    return "ok"
