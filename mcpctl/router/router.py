"""The router: fed client messages, backend messages and clock ticks; it decides and queues actions.

Synchronous and free of I/O, in the spirit of h11's `Connection`: every input takes `now`
(monotonic seconds) and appends what should happen to `out`, which the pump performs in order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from mcpctl.protocol import codes
from mcpctl.protocol.catalog import LIST_KINDS, Catalog
from mcpctl.protocol.eras import LEGACY, MODERN, MRTR_METHODS
from mcpctl.protocol.jsonrpc import NOTIFICATION, RESPONSE, Message, error, kind_of, params_of, result
from mcpctl.router import local
from mcpctl.router.actions import Action, CancelElsewhere, RetryElsewhere
from mcpctl.router.answers import Answers
from mcpctl.router.asks import AskIds, Asks
from mcpctl.router.backends import BackendSide
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.fanout import Fanout
from mcpctl.router.forward import Forwarder
from mcpctl.router.hooks import CallHooks, NoHooks, Refusal
from mcpctl.router.inbound import BackendInbound
from mcpctl.router.keeper import SessionKeeper
from mcpctl.router.links import Link
from mcpctl.router.mrtr import InputRounds, Sealer, StateRefused
from mcpctl.router.relay import Relay
from mcpctl.router.servers import ServerRules, ServerSlot
from mcpctl.router.sessions import SessionRegistry, new_session_id
from mcpctl.router.streams import Accepted, Forwarded, Immediate, Reply
from mcpctl.router.targets import target, unknown

# Removed in 2026-07-28: a stateless request for them is an unknown method.
LEGACY_ONLY_METHODS: Final = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
SWEEP_SECONDS: Final = 30.0  # how often idle sessions are looked for


@dataclass(frozen=True)
class RouterConfig:
    """What the router needs to know from the configuration."""

    servers: dict[str, ServerRules]  # in configuration order
    bridge: str | None = None  # the single server of `mcpctl serve -- COMMAND`, served without prefix
    page_size: int = 500
    session_ttl: float = 3600.0
    max_sessions: int = 10_000
    max_sessions_per_principal: int = 1_000
    private_views: bool = False  # lists differ per caller (policy): modern clients cache them privately
    client_info: dict[str, Any] = field(default_factory=dict)  # how the gateway introduces itself
    version: str = ""
    instance: str = "local"  # this instance's id: sealed into the requestState of the calls it holds
    fleet: bool = False  # one of several instances: question ids say which instance asked


class Router(Answers):
    """Routes client requests to backends by the aggregated catalog; speaks both eras to clients."""

    def __init__(
        self,
        config: RouterConfig,
        sealer: Sealer,
        hooks: CallHooks | None = None,
        new_id: Callable[[], str] = new_session_id,
    ) -> None:
        self.config = config
        self.out: list[Action] = []  # performed and cleared by the pump after each input
        self.hooks: CallHooks = hooks or NoHooks()
        self.catalog = Catalog(list(config.servers))
        self.servers = {name: ServerSlot(name, rules) for name, rules in config.servers.items()}
        self.sessions = SessionRegistry(
            config.session_ttl, config.max_sessions, config.max_sessions_per_principal
        )
        self.calls = Forwarder(self.out, self.hooks, self.servers)
        self.fanout = Fanout(self.out, self.sessions, self.servers, self.resource_owner, config.client_info)
        ids = AskIds(config.instance, sealer, config.fleet)
        self.relay = Relay(self.out, self.calls, ids)
        self.rounds = InputRounds(self.out, self.calls, sealer, config.instance, self.servers)
        self.asks = Asks(
            self.out, self.sessions, self.servers, self.relay, self.rounds, lambda: self.calls.now, ids
        )
        self.calls.ended.append(self.asks.call_ended)
        self.inbound = BackendInbound(
            self.out, self.calls, self.asks, self.fanout, self.relay, self.rounds, config.bridge
        )
        self.backends = BackendSide(
            self.out,
            self.servers,
            self.catalog,
            self.calls,
            self.fanout,
            self.inbound,
            self.hooks,
            self._replay_unrouted,
        )
        if config.fleet:
            self.fanout.fleet_digest = self._digest
        self.keeper = SessionKeeper(
            self.out, self.sessions, self.calls, self.fanout, self.servers, new_id, self._describe
        )
        self._cache_scope = "private" if config.private_views else "public"
        self._unrouted: list[tuple[Call, Message]] = []  # asked while servers first start
        self._next_sweep = 0.0

    @property
    def next_deadline(self) -> float:
        """When `tick` has something to do next (monotonic seconds)."""
        return min(self.calls.earliest, self.asks.earliest, self._next_sweep)

    # -- client messages -----------------------------------------------------------------------

    def client_message(self, ctx: ClientContext, msg: Message, now: float) -> Reply:  # noqa: PLR0911
        """One validated client message; never raises for anything a client can send."""
        self.calls.now = now
        kind = kind_of(msg)
        if kind is NOTIFICATION:
            self._client_notification(ctx, msg)
            return Accepted()
        if kind is RESPONSE:
            self.asks.client_answered(ctx, msg, now)
            return Accepted()
        method = msg["method"]
        if ctx.era is MODERN and method in LEGACY_ONLY_METHODS:
            text = f"Method not found: {method} is not part of 2026-07-28"
            return Immediate(error(msg["id"], codes.METHOD_NOT_FOUND, text))
        if method == "initialize":
            return self.keeper.open(ctx, msg, now)
        if method == "ping":
            return Immediate(result(msg["id"], {"resultType": "complete"} if ctx.era is MODERN else {}))
        if method == "logging/setLevel":
            return self._set_level(ctx, msg)
        if method == "server/discover":
            body = local.discover_result(
                self.capabilities(), self.server_info(), self.instructions(), self._cache_scope
            )
            return Immediate(result(msg["id"], body))
        if method == "subscriptions/listen":
            return self._listen(ctx, msg)
        if method in local.LISTS:
            return self._list(ctx, msg, now)
        if method in ("resources/subscribe", "resources/unsubscribe"):
            return self._subscribe(ctx, msg)
        return self._forward_request(ctx, msg, now, None)

    def cancel(self, call: Call, reason: str, now: float) -> None:
        """The client went away (closed the stream of its call) or the host is stopping."""
        self.calls.now = now
        self.calls.cancel(call, reason)

    def end_calls(self, reason: str, now: float) -> None:
        """The host is stopping: every call still running ends now, with an error that says so."""
        self.calls.now = now
        for call in list(self.calls.live):
            self.calls.stop_at_backend(call, reason)
            self.calls.unavailable(call, reason)

    def remove_listener(self, listener: Any) -> None:
        self.fanout.remove_listener(listener)

    # -- what the gateway says about itself ----------------------------------------------------

    def _describe(self) -> dict[str, Any]:
        body: dict[str, Any] = {"capabilities": self.capabilities(), "serverInfo": self.server_info()}
        instructions = self.instructions()
        if instructions:
            body["instructions"] = instructions
        return body

    def _bridged(self) -> Link | None:
        return self.servers[self.config.bridge].shared if self.config.bridge else None

    def capabilities(self) -> dict[str, Any]:
        return local.capabilities(self._bridged())

    def server_info(self) -> dict[str, Any]:
        return local.server_info(self._bridged(), self.config.version)

    def instructions(self) -> str:
        links = {name: slot.shared for name, slot in self.servers.items() if slot.shared is not None}
        return local.instructions(links, self.config.bridge)

    def _digest(self, kinds: list[str]) -> str:
        view = [self.catalog.view(kind) for kind in kinds]
        return hashlib.sha256(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def resource_owner(self, uri: str) -> str | None:
        """The server a resource URI belongs to (in a bridge, the one server)."""
        return self.config.bridge or self.catalog.route_resource(uri)

    # -- forwarding ----------------------------------------------------------------------------

    def _forward_request(  # noqa: PLR0911 (each way a request can end before a backend)
        self, ctx: ClientContext, msg: Message, now: float, waiting: Call | None
    ) -> Reply:
        """tools/call, prompts/get, resources/read, completion/complete, and (in a bridge) anything."""
        found = target(msg, self.catalog, self.resource_owner, self.config.bridge)
        if isinstance(found, Immediate):
            return found
        if found is None:
            if waiting is None and any(slot.first_start for slot in self.servers.values()):
                wait = max(slot.rules.startup_timeout for slot in self.servers.values() if slot.first_start)
                return self._wait_for_start(ctx, msg, now, wait)
            return self._refuse(ctx, msg, "", *unknown(msg), waiting)
        server, name, params = found
        asked = params_of(msg)  # the client's params (`params` are the server's: names without prefix)
        refusal = self.hooks.admit(ctx, msg["method"], server, name, asked)
        if refusal is not None:
            return self._refuse(ctx, msg, server, name, refusal, waiting)
        runs_on = self.servers[server].runs_on
        if runs_on is not None:
            return self._elsewhere(ctx, msg, server, name, runs_on, now, waiting)
        if "requestState" in params and self._holds_state(ctx, msg, server):
            try:
                resumed = self.rounds.resume(ctx, msg, now)
            except StateRefused as exc:
                if exc.owner is not None and self.config.fleet and not ctx.forwarded:
                    # Held by another instance of the fleet: the retry goes there, its answers come back.
                    relay = Call(ctx, msg["id"], msg["method"], server, name, started=now)
                    self.out.append(RetryElsewhere(exc.owner, relay, msg))
                    return Forwarded(relay)
                err = {"code": codes.INVALID_PARAMS, "message": str(exc), "data": {"reason": exc.reason}}
                refused = self._refuse(ctx, msg, server, name, err, waiting)
                # a request the client got wrong: 400, as 2026-07-28 servers answer invalid params
                return Immediate(refused.message, 400) if isinstance(refused, Immediate) else refused
            return Forwarded(resumed)
        meta = params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        call = waiting or Call(ctx, msg["id"], msg["method"], server, started=now)
        call.server, call.name, call.progress_token, call.params = server, name, token, asked
        self.calls.start(call, {"jsonrpc": "2.0", "method": msg["method"], "params": params}, now)
        return Forwarded(call)

    def _elsewhere(
        self,
        ctx: ClientContext,
        msg: Message,
        server: str,
        name: str,
        instance: str,
        now: float,
        waiting: Call | None,
    ) -> Reply:
        """A request for a server another instance of the fleet runs: it goes there, as it was sent."""
        if ctx.forwarded:  # passed on to us, yet we see it run elsewhere (it just moved): never pass it on
            text = f"server {server!r} is moving between instances of the fleet; try again"
            return self._refuse(
                ctx, msg, server, name, {"code": codes.BACKEND_UNAVAILABLE, "message": text}, waiting
            )
        call = waiting or Call(
            ctx, msg["id"], msg["method"], server, name, params=params_of(msg), started=now
        )
        call.server, call.name, call.params = server, name, params_of(msg)
        self.calls.hand_off(call, instance)
        return Forwarded(call)

    def _holds_state(self, ctx: ClientContext, msg: Message, server: str) -> bool:
        """A modern client's retry whose requestState is ours: its server speaks the legacy era.

        A modern server's own requestState passes through untouched.
        """
        slot = self.servers[server]
        return ctx.era is MODERN and msg["method"] in MRTR_METHODS and slot.era is LEGACY

    def _refuse(
        self,
        ctx: ClientContext,
        msg: Message,
        server: str,
        name: str,
        err: dict[str, object],
        waiting: Call | None,
    ) -> Reply:
        """An error for a call that never reaches a backend; the hooks (audit) still see it."""
        self.hooks.refused(Refusal(ctx, msg["method"], server, name, params_of(msg), err))
        answer = {"jsonrpc": "2.0", "id": msg["id"], "error": err}
        if waiting is not None:
            self.calls.conclude(waiting, answer)
            return Forwarded(waiting)
        return Immediate(answer)

    def _wait_for_start(self, ctx: ClientContext, msg: Message, now: float, wait: float) -> Reply:
        """Hold a request while servers start for the first time: it may be for one of them."""
        call = Call(ctx, msg["id"], msg["method"], "", started=now)
        call.arm(now, wait, wait)
        self.calls.track(call)
        self._unrouted.append((call, msg))
        return Forwarded(call)

    def _replay_unrouted(self, now: float, *, expired_only: bool = False) -> None:
        """Requests held for starting servers: route those that can be, answer those that waited enough."""
        starting = any(slot.first_start for slot in self.servers.values())
        held, self._unrouted = self._unrouted, []
        for call, msg in held:
            if call.done:
                continue
            expired = call.expires <= now
            if expired_only and not expired:
                self._unrouted.append((call, msg))
                continue
            if (
                starting
                and not expired
                and (
                    msg["method"] in local.LISTS
                    or target(msg, self.catalog, self.resource_owner, None) is None
                )
            ):
                self._unrouted.append((call, msg))
                continue
            assert call.ctx is not None
            if msg["method"] in local.LISTS:
                reply = self._list(call.ctx, msg, now, waiting=call)
            else:
                reply = self._forward_request(call.ctx, msg, now, waiting=call)
            if isinstance(reply, Immediate):
                self.calls.conclude(call, reply.message)

    # -- notifications from clients ------------------------------------------------------------

    def _client_notification(self, ctx: ClientContext, msg: Message) -> None:
        method = msg["method"]
        session = ctx.session
        if method == "notifications/cancelled" and session is not None:
            request_id = params_of(msg).get("requestId")
            call = session.calls.get(request_id) if isinstance(request_id, str | int) else None
            if call is not None:
                reason = params_of(msg).get("reason")
                self.calls.cancel(call, reason if isinstance(reason, str) else "cancelled by the client")
            elif self.config.fleet and not ctx.forwarded:
                self.out.append(CancelElsewhere(session.id, msg))  # the call may run on another instance
        elif method == "notifications/roots/list_changed" and session is not None:
            for slot in self.servers.values():
                link = slot.session_links.get(session.id)
                if link is not None:
                    self.inbound.notify(link, "notifications/roots/list_changed")

    # -- time ----------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Fail calls past their deadlines, refuse questions nobody owns; now and then, end idle sessions."""
        self.calls.now = now
        self._replay_unrouted(now, expired_only=True)
        self.calls.expire(now)
        self.asks.expire(now)
        if now >= self._next_sweep:
            for session in self.sessions.expire(now):
                self.keeper.close(session, now)
            self._next_sweep = now + SWEEP_SECONDS


__all__ = ["LIST_KINDS", "Router", "RouterConfig"]
