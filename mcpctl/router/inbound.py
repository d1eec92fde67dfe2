"""What backends send the router: answers to calls, progress, notifications and requests of their own."""

from __future__ import annotations

from typing import Final

from mcpctl.protocol.jsonrpc import (
    NOTIFICATION,
    REQUEST,
    RESPONSE,
    Message,
    kind_of,
    notification,
    params_of,
)
from mcpctl.router.actions import Action, SendToBackend, StreamToClient, Warn
from mcpctl.router.adapt import interim_for_client, response_for_client
from mcpctl.router.asks import Asks
from mcpctl.router.fanout import Fanout
from mcpctl.router.forward import Forwarder
from mcpctl.router.links import Link
from mcpctl.router.mrtr import InputRounds
from mcpctl.router.relay import Relay, needs_relay

# What a list_changed notification makes the router re-read.
CHANGED_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "notifications/tools/list_changed": ("tools",),
    "notifications/prompts/list_changed": ("prompts",),
    "notifications/resources/list_changed": ("resources", "resourceTemplates"),
}


class BackendInbound:
    """Sorts each backend message to the call, the clients or the bookkeeping it concerns."""

    def __init__(
        self,
        out: list[Action],
        calls: Forwarder,
        asks: Asks,
        fanout: Fanout,
        relay: Relay,
        rounds: InputRounds,
        bridge: str | None,
    ) -> None:
        self._out = out
        self._calls = calls
        self._asks = asks
        self._fanout = fanout
        self._relay = relay
        self._rounds = rounds
        self._bridge = bridge

    def message(self, link: Link, msg: Message, now: float, related: object = None) -> tuple[str, ...] | None:
        """Handle one message; returns the kinds of lists to re-read, if it says they changed.

        `related` is the id of the request whose stream the message came on, when the transport knows.
        """
        kind = kind_of(msg)
        if kind is RESPONSE:
            self._response(link, msg, now)
        elif kind is NOTIFICATION:
            return self._notification(link, msg, now)
        elif kind is REQUEST:
            self._asks.backend_asked(link, msg, now, related)
        else:
            self._out.append(
                Warn(f"{link.server}: ignoring a message that is not JSON-RPC: {str(msg)[:200]}")
            )
        return None

    def notify(self, link: Link, method: str) -> None:
        if not link.closed:
            self._out.append(SendToBackend(link, notification(method)))

    def _response(self, link: Link, msg: Message, now: float) -> None:
        request_id = msg["id"]
        call = link.pending.pop(request_id, None) if type(request_id) is int else None
        if call is None:
            self._own_answer(link, msg)
            return
        call.replied = True
        if call.exchange is not None and self._rounds.answered(call, msg):
            self._calls.left_link(call)  # answered while its client is between rounds: kept for the retry
            return
        result = msg.get("result")
        if needs_relay(call, result):
            assert isinstance(result, dict)
            self._relay.start(call, result, now)
            return
        answer = response_for_client(call, msg)
        self._calls.finish(call, self._rounds.shaped(call, answer) if call.exchange else answer)

    def _own_answer(self, link: Link, msg: Message) -> None:
        """The answer to one of the router's own requests (or a late one for a call already over)."""
        request_id = msg["id"]
        purpose = link.internal.pop(request_id, None) if type(request_id) is int else None
        if purpose is None:
            return
        if link.listen_id == request_id:
            link.listen_id = None  # the backend ended our listen (gracefully, or with an error)
        err = msg.get("error")
        if err is not None:
            text = err.get("message") if isinstance(err, dict) else err
            self._out.append(Warn(f"{link.server}: {purpose} failed: {text}"))

    def _notification(self, link: Link, msg: Message, now: float) -> tuple[str, ...] | None:
        method = msg["method"]
        if method == "notifications/progress":
            token = params_of(msg).get("progressToken")
            call = link.pending.get(token) if type(token) is int else None
            if call is not None:
                call.progressed(now)
                interim = interim_for_client(call, msg)
                if interim is not None:
                    self._out.append(StreamToClient(call, interim, False))
            return None
        kinds = CHANGED_KINDS.get(method)
        if kinds is not None:
            return kinds
        if method == "notifications/resources/updated":
            self._fanout.resource_updated(link, msg)
        elif method == "notifications/message":
            self._fanout.log_message(link, msg)
        elif method == "notifications/cancelled":
            if not self._fanout.listen_closed(link, msg):
                self._asks.backend_cancelled(link, msg)
        elif method != "notifications/subscriptions/acknowledged" and self._bridge is not None:
            self._fanout.pass_on(link, msg)
        return None
