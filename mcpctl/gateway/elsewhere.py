"""The pump's errands in a fleet: what other instances must hear, and what they send here."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from mcpctl.fleet.inbox import Entry
from mcpctl.fleet.node import FleetNode
from mcpctl.fleet.store import StateUnavailable
from mcpctl.gateway.streams import CallStream
from mcpctl.protocol import codes
from mcpctl.protocol.eras import MODERN, Era
from mcpctl.protocol.jsonrpc import Message, error, meta_of
from mcpctl.router.actions import (
    AnswerElsewhere,
    Broadcast,
    CallElsewhere,
    CancelElsewhere,
    RetryElsewhere,
    SubscribeElsewhere,
    UpdateElsewhere,
)
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext, Principal
from mcpctl.router.streams import Forwarded, Immediate
from mcpctl.tasks import TaskHost

if TYPE_CHECKING:
    from mcpctl.gateway.pump import Gateway

log = logging.getLogger(__name__)

ELSEWHERE: Final = (
    AnswerElsewhere,
    Broadcast,
    CallElsewhere,
    CancelElsewhere,
    RetryElsewhere,
    SubscribeElsewhere,
    UpdateElsewhere,
)
Performed = (
    AnswerElsewhere
    | Broadcast
    | CallElsewhere
    | CancelElsewhere
    | RetryElsewhere
    | SubscribeElsewhere
    | UpdateElsewhere
)
QUIET_MARGIN = 5.0  # seconds past a server's own timeouts that a forwarded call's holder may stay silent
FORWARD_LIMIT = 900.0  # seconds a forwarded retry's client waits for the holding instance at most


class Elsewhere:
    """Performs the router's fleet actions and hands it what other instances send (the inbox)."""

    def __init__(self, gateway: Gateway, fleet: FleetNode, tasks: TaskHost) -> None:
        self._gateway = gateway
        self._fleet = fleet
        self._tasks = tasks
        fleet.deliver = self.received
        # calls of our clients that another instance runs (placement = "one"): where, and their reply key
        self._away: dict[Call, tuple[str, str]] = {}
        self._serving: dict[str, Call] = {}  # calls we run for another instance's clients, by reply key
        self.lists_changed: Callable[[str], None] = lambda server: None  # a holder published new lists
        self.restart_asked: Callable[[str], None] = lambda server: None  # restart a server we hold

    def perform(self, action: Performed) -> None:
        if isinstance(action, Broadcast):
            self._fleet.events.broadcast(action.message, action.digest)
        elif isinstance(action, AnswerElsewhere):
            entry = {"k": "session", "s": action.session_id, "m": action.message}
            self._tasks.spawn(self._send, action.instance, entry, name="routing an answer to its instance")
        elif isinstance(action, CancelElsewhere):
            self._cancel_away(action.session_id, action.message)
            entry = {"k": "session", "s": action.session_id, "m": action.message}
            self._tasks.spawn(self._send, None, entry, name="passing a cancellation on")
        elif isinstance(action, SubscribeElsewhere):
            wish = {"k": "sub", "s": action.server, "u": action.uri, "w": action.wanted}
            wish["f"] = self._fleet.store.instance
            self._tasks.spawn(self._send, action.instance, wish, name="passing a subscription on")
        elif isinstance(action, UpdateElsewhere):
            for instance in action.instances:
                entry = {"k": "updated", "m": action.message}
                self._tasks.spawn(self._send, instance, entry, name="passing a resource update on")
        elif isinstance(action, CallElsewhere):  # the pump gave the call its stream before performing this
            self._tasks.spawn(self._call_there, action, name=f"forwarding a call for {action.call.server}")
        else:  # the pump gave the stand-in call its stream before performing this
            self._tasks.spawn(self._retry_there, action, name="forwarding a retry to its instance")

    async def _call_there(self, action: CallElsewhere) -> None:
        """Send a request to the instance that runs its server; relay what comes back to our client."""
        call = action.call
        stream: CallStream = call.io
        assert call.ctx is not None
        reply = self._fleet.inbox.reply_key()
        entry = {"k": "call", "m": action.message, "c": _context_entry(call.ctx), "r": reply}
        self._away[call] = (action.instance, reply)
        try:
            incarnation = await self._fleet.inbox.send(action.instance, entry)
            # the holder times the call out itself: silence beyond that means its answer was lost
            rules = self._gateway.router.servers[call.server].rules
            quiet = max(rules.call_timeout, rules.startup_timeout) + QUIET_MARGIN
            replies = self._fleet.inbox.replies(reply, action.instance, incarnation, quiet)
            async for message, final in replies:
                if final:
                    stream.finish({**message, "id": call.client_id})
                    return
                stream.push(message)
        except StateUnavailable as exc:
            where = f"server {call.server!r} runs on instance {action.instance!r}"
            text = f"{where}, which cannot be reached: {exc.message}"
            data = {"reason": "owner_unavailable", "instance": action.instance}
            stream.finish(error(call.client_id, codes.BACKEND_UNAVAILABLE, text, data))
        finally:
            self._away.pop(call, None)

    def _cancel_away(self, session_id: str, message: Message) -> None:
        """A 2025-era client's notifications/cancelled for its call that another instance runs."""
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        for call in list(self._away):
            session = call.ctx.session if call.ctx is not None else None
            if session is not None and session.id == session_id and call.client_id == request_id:
                self.abandoned(call)

    def abandoned(self, call: Call) -> None:
        """Our client went away from a call another instance runs: that instance cancels it."""
        away = self._away.pop(call, None)
        if away is not None:
            instance, reply = away
            stream: CallStream = call.io
            stream.finish(error(call.client_id, codes.INTERNAL_ERROR, "cancelled: the client went away"))
            entry = {"k": "cancel", "r": reply}
            self._tasks.spawn(self._send, instance, entry, name="passing a cancellation on")

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
        if self._control(entry) or not isinstance(message, dict):
            return
        if kind == "session":
            if message.get("method") == "notifications/cancelled":  # its call may be one we forwarded
                self._cancel_away(str(entry.get("s")), message)
            session = self._gateway.router.sessions.peek(str(entry.get("s")))
            if session is not None:
                self._gateway.deliver(ClientContext.for_session(session, forwarded=True), message)
        elif kind == "retry":
            self._answer_retry(entry, message)
        elif kind == "call":
            self._answer_call(entry, message)
        elif kind == "updated":
            self._gateway.updated_elsewhere(message)

    def _control(self, entry: Entry) -> bool:
        """Entries without a message: a cancellation of a call we run for another instance, news of a
        placed server's lists, a restart of a placed server we run."""
        kind = entry.get("k")
        if kind == "cancel":
            call = self._serving.get(str(entry.get("r")))
            if call is not None:
                self._gateway.cancel(call, "the client went away")
            return True
        if kind == "lists":
            self.lists_changed(str(entry.get("s")))
            return True
        if kind == "restart":
            self.restart_asked(str(entry.get("s")))
            return True
        if kind == "sub":
            server, uri, instance = entry.get("s"), entry.get("u"), entry.get("f")
            if isinstance(server, str) and isinstance(uri, str) and isinstance(instance, str):
                self._gateway.subscribe_for(server, uri, instance, entry.get("w") is True)
            return True
        return False

    def _answer_call(self, entry: Entry, message: Message) -> None:
        """A request of another instance's client for a server this instance runs (placement = "one")."""
        ctx = _context_from(entry.get("c"))
        if ctx is None:
            return
        reply = self._gateway.handle(ctx, message)
        key = str(entry["r"])
        if isinstance(reply, Forwarded):
            self._serving[key] = reply.call
            self._tasks.spawn(self._relay_back, key, reply.call, name="answering a forwarded call")
        elif isinstance(reply, Immediate):
            self._tasks.spawn(self._answer_at_once, key, reply.message, name="answering a forwarded call")

    def _answer_retry(self, entry: Entry, message: Message) -> None:
        kind, name, scopes, groups = entry["p"]
        meta = meta_of(message)
        ctx = ClientContext(
            MODERN,
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
        try:
            async with contextlib.aclosing(self._gateway.stream(call)) as stream:
                async for message, final in stream:
                    await self._reply(key, message, final)
        except StateUnavailable as exc:  # the stream's end cancelled the call: nobody can hear it
            log.warning("fleet: a forwarded call's answer could not be passed back: %s", exc.message)
        finally:
            self._serving.pop(key, None)

    async def _answer_at_once(self, key: str, message: Message) -> None:
        try:
            await self._reply(key, message, True)
        except StateUnavailable as exc:
            log.warning("fleet: a forwarded call's answer could not be passed back: %s", exc.message)

    async def _reply(self, key: str, message: Message, final: bool) -> None:
        """Once more after a failure: right after Redis restarts, a pooled connection fails once."""
        try:
            await self._fleet.inbox.reply(key, message, final)
        except StateUnavailable:
            await self._fleet.inbox.reply(key, message, final)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _context_entry(ctx: ClientContext) -> dict[str, Any]:
    """What the instance running a call needs to know of the client that sent it.

    A 2025-era client's session stays here, so the server's questions to it are refused there (as
    to a client that cannot be asked anything); a 2026-07-28 client gets them as a round of input.
    """
    principal = ctx.principal
    modern = ctx.era is MODERN
    return {
        "e": ctx.era.value,
        "v": ctx.protocol_version,
        "c": ctx.capabilities if modern else {},
        "i": ctx.client_info,
        "l": ctx.log_level,
        "p": [
            principal.kind,
            principal.name,
            sorted(principal.scopes),
            sorted(principal.groups),
            principal.claims,
        ],
        "a": ctx.remote,
        "u": ctx.user_agent,
        "q": ctx.request_id,
        "x": list(ctx.verdicts) if ctx.verdicts is not None else None,  # the fleet's limits took their tokens
    }


def _context_from(value: Any) -> ClientContext | None:
    if not isinstance(value, dict):
        return None
    try:
        kind, name, scopes, groups, claims = value["p"]
        verdicts = value.get("x")
        return ClientContext(
            Era(value["e"]),
            str(value.get("v", "")),
            _dict(value.get("c")),
            _dict(value.get("i")),
            principal=Principal(str(name), str(kind), frozenset(scopes), frozenset(groups), _dict(claims)),
            log_level=value["l"] if isinstance(value.get("l"), str) else None,
            remote=str(value.get("a", "")),
            user_agent=str(value.get("u", "")),
            request_id=str(value.get("q", "")),
            verdicts=tuple(int(v) for v in verdicts) if isinstance(verdicts, list) else None,
            forwarded=True,
        )
    except (KeyError, TypeError, ValueError):
        log.warning("fleet: inbox: dropped a forwarded call whose client context is not ours")
        return None
