"""Calls on their way to backends: link choice, id and token mapping, parking, cancellation, deadlines."""

from __future__ import annotations

import math
from typing import Any

from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import Message, error, notification
from mcpctl.router.actions import Action, OpenLink, SendToBackend, StreamToClient
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
        self.live: set[Call] = set()
        self.earliest = math.inf  # no live call expires before this (a lower bound)

    # -- starting ------------------------------------------------------------------------------

    def start(self, call: Call, request: Message, now: float) -> None:
        """Send `request` (in the server's names) for `call`, or hold it until its server is up."""
        rules = self._servers[call.server].rules
        call.arm(now, rules.call_timeout, rules.max_call_timeout)
        self.track(call)
        self.route(call, request, now)

    def track(self, call: Call) -> None:
        """A call the router answers later (forwarded, or waiting): deadlines and cancellation apply."""
        self.live.add(call)
        session = call.ctx.session if call.ctx is not None else None
        if session is not None and call.client_id is not None:
            session.calls[call.client_id] = call
        self.earliest = min(self.earliest, call.expires)

    def route(self, call: Call, request: Message, now: float) -> None:
        slot = self._servers[call.server]
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
        self.send(call, link, request)

    def send(self, call: Call, link: Link, request: Message) -> None:
        """Send `request` (in the server's names) for `call` as its link's era wants it, under a new id."""
        backend_id = link.new_id()
        call.backend_id = backend_id
        call.link = link
        call.request = request
        link.pending[backend_id] = call
        out = request_for_backend(request, call.ctx, link.era, link.description.protocol_version, backend_id)
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
                self.send(call, link, request)

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
        self.live.discard(call)
        session = call.ctx.session if call.ctx is not None else None
        if session is not None and call.client_id is not None:
            session.calls.pop(call.client_id, None)
        self._out.append(StreamToClient(call, msg, True))

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
        """The connection closed: every call it owed an answer fails now, with the reason."""
        link.closed = True
        pending, link.pending = link.pending, {}
        link.internal.clear()
        for call in pending.values():
            self.unavailable(call, f"server {link.server!r} is unavailable: {reason}")

    def send_failed(self, link: Link, msg: Message, reason: str) -> None:
        """The pump could not write `msg`: release its call and answer the client at once."""
        request_id = msg.get("id")
        if type(request_id) is not int:
            return
        link.internal.pop(request_id, None)
        call = link.pending.pop(request_id, None)
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
        if call.round is not None:
            text = f"the client did not answer server {call.server!r}'s request for input in time"
            self.finish(call, error(call.client_id, codes.BACKEND_TIMEOUT, text), "error")
        elif call.link is None:
            why = slot.unavailable(now) if slot is not None else f"no server offers {call.name!r} yet"
            self.unavailable(call, why)
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
