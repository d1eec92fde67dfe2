"""The pump's errands in a fleet: what other instances must hear, and what they send here."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Final

from mcpctl.fleet.inbox import Entry
from mcpctl.fleet.node import FleetNode
from mcpctl.fleet.store import StateUnavailable
from mcpctl.gateway.streams import CallStream
from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from mcpctl.protocol.jsonrpc import Message, error, meta_of
from mcpctl.router.actions import AnswerElsewhere, Broadcast, CancelElsewhere, RetryElsewhere
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext, Principal
from mcpctl.router.streams import Forwarded, Immediate
from mcpctl.tasks import TaskHost

if TYPE_CHECKING:
    from mcpctl.gateway.pump import Gateway

log = logging.getLogger(__name__)

ELSEWHERE: Final = (AnswerElsewhere, Broadcast, CancelElsewhere, RetryElsewhere)
FORWARD_LIMIT = 900.0  # seconds a forwarded retry's client waits for the holding instance at most


class Elsewhere:
    """Performs the router's fleet actions and hands it what other instances send (the inbox)."""

    def __init__(self, gateway: Gateway, fleet: FleetNode, tasks: TaskHost) -> None:
        self._gateway = gateway
        self._fleet = fleet
        self._tasks = tasks
        fleet.deliver = self.received

    def perform(self, action: AnswerElsewhere | Broadcast | CancelElsewhere | RetryElsewhere) -> None:
        if isinstance(action, Broadcast):
            self._fleet.events.broadcast(action.message, action.digest)
        elif isinstance(action, AnswerElsewhere):
            entry = {"k": "session", "s": action.session_id, "m": action.message}
            self._tasks.spawn(self._send, action.instance, entry, name="routing an answer to its instance")
        elif isinstance(action, CancelElsewhere):
            entry = {"k": "session", "s": action.session_id, "m": action.message}
            self._tasks.spawn(self._send, None, entry, name="passing a cancellation on")
        else:  # the pump gave the stand-in call its stream before performing this
            self._tasks.spawn(self._retry_there, action, name="forwarding a retry to its instance")

    async def _send(self, instance: str | None, entry: Entry) -> None:
        try:
            if instance is None:
                await self._fleet.inbox.send_to_others(entry)
            else:
                await self._fleet.inbox.send(instance, entry)
        except StateUnavailable as exc:  # the instance that asked is gone (its call failed with it)
            log.warning("fleet: a message for another instance was not delivered: %s", exc.message)

    async def _retry_there(self, action: RetryElsewhere) -> None:
        """Send the retry to the instance that holds its call; relay what comes back to our client."""
        stream: CallStream = action.call.io
        ctx = action.call.ctx
        assert ctx is not None
        principal = ctx.principal
        reply = self._fleet.inbox.reply_key()
        entry = {
            "k": "retry",
            "m": action.message,
            "p": [principal.kind, principal.name, sorted(principal.scopes), sorted(principal.groups)],
            "r": reply,
        }
        deadline = time.monotonic() + FORWARD_LIMIT
        try:
            incarnation = await self._fleet.inbox.send(action.instance, entry)
            async for message, final in self._fleet.inbox.replies(reply, action.instance, incarnation):
                if final:
                    stream.finish({**message, "id": action.call.client_id})
                    return
                stream.push(message)
                if time.monotonic() > deadline:
                    break
            raise StateUnavailable("the instance holding the call stopped answering")
        except StateUnavailable as exc:
            data = {"reason": "owner_unavailable"}
            stream.finish(error(action.call.client_id, codes.INVALID_PARAMS, exc.message, data))

    def received(self, entry: Entry) -> None:
        """An entry of this instance's inbox."""
        kind = entry.get("k")
        message = entry.get("m")
        if not isinstance(message, dict):
            return
        if kind == "session":
            session = self._gateway.router.sessions.peek(str(entry.get("s")))
            if session is not None:
                self._gateway.deliver(ClientContext.for_session(session, forwarded=True), message)
        elif kind == "retry":
            self._answer_retry(entry, message)

    def _answer_retry(self, entry: Entry, message: Message) -> None:
        kind, name, scopes, groups = entry["p"]
        meta = meta_of(message)
        ctx = ClientContext(
            Era.MODERN,
            str(meta.get("io.modelcontextprotocol/protocolVersion", "")),
            _dict(meta.get("io.modelcontextprotocol/clientCapabilities")),
            _dict(meta.get("io.modelcontextprotocol/clientInfo")),
            principal=Principal(name, kind, frozenset(scopes), frozenset(groups)),
            log_level=meta.get("io.modelcontextprotocol/logLevel")
            if isinstance(meta.get("io.modelcontextprotocol/logLevel"), str)
            else None,
            forwarded=True,
        )
        reply = self._gateway.handle(ctx, message)
        key = str(entry["r"])
        if isinstance(reply, Forwarded):
            self._tasks.spawn(self._relay_back, key, reply.call, name="answering a forwarded retry")
        elif isinstance(reply, Immediate):
            self._tasks.spawn(
                self._fleet.inbox.reply, key, reply.message, True, name="answering a forwarded retry"
            )

    async def _relay_back(self, key: str, call: Call) -> None:
        async for message, final in self._gateway.stream(call):
            await self._fleet.inbox.reply(key, message, final)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
