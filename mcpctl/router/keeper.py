"""Legacy sessions' lives: opened by initialize (or adopted from the fleet), kept within bounds, ended."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from mcpctl.protocol import codes
from mcpctl.protocol.eras import negotiate_legacy
from mcpctl.protocol.jsonrpc import Message, error, params_of, result
from mcpctl.router.actions import Action, EndSession
from mcpctl.router.context import ClientContext, Principal
from mcpctl.router.fanout import Fanout
from mcpctl.router.forward import Forwarder
from mcpctl.router.servers import ServerSlot
from mcpctl.router.sessions import LegacySession, SessionFields, SessionRegistry
from mcpctl.router.streams import Immediate


class SessionKeeper:
    """Every session begins in `open` (or `adopt`) and ends in `close`."""

    def __init__(
        self,
        out: list[Action],
        registry: SessionRegistry,
        calls: Forwarder,
        fanout: Fanout,
        servers: dict[str, ServerSlot],
        new_id: Callable[[], str],
        describe: Callable[[], dict[str, Any]],
    ) -> None:
        self._out = out
        self._registry = registry
        self._calls = calls
        self._fanout = fanout
        self._servers = servers
        self._new_id = new_id
        self._describe = describe  # what initialize answers about the gateway (capabilities, serverInfo, ...)

    def open(
        self, ctx: ClientContext, msg: Message, now: float, existing: LegacySession | None = None
    ) -> Immediate:
        """Answer `initialize`: a legacy session, in the version the client asked for if we speak it.

        The 2024-11-05 HTTP+SSE transport creates its session when the stream opens, before
        initialize; it passes that session as `existing`.
        """
        params = params_of(msg)
        version = negotiate_legacy(params.get("protocolVersion"))
        capabilities = params.get("capabilities")
        client_info = params.get("clientInfo")
        session = existing or self.new(ctx.principal, now)
        if session is None:
            limits = f"{self._registry.max_per_principal} per caller, {self._registry.max_total} in all"
            text = f"Too many open sessions ({limits}), all busy: end some (DELETE) or wait for one to finish"
            return Immediate(
                error(msg["id"], codes.RATE_LIMITED, text, {"principal": ctx.principal.name}), 429
            )
        session.protocol_version = version
        session.capabilities = capabilities if isinstance(capabilities, dict) else {}
        session.client_info = client_info if isinstance(client_info, dict) else {}
        session.principal = ctx.principal
        return Immediate(result(msg["id"], {"protocolVersion": version, **self._describe()}), session=session)

    def new(
        self, principal: Principal, now: float, transport: Literal["streamable", "sse"] = "streamable"
    ) -> LegacySession | None:
        """A new session for `principal`; None when the limits leave no room (see `_make_room`)."""
        if not self._make_room(principal, now):
            return None
        session = LegacySession(self._new_id(), "", {}, {}, principal, transport)
        self._registry.add(session, now)
        return session

    def adopt(
        self, session_id: str, principal: Principal, fields: SessionFields, now: float
    ) -> LegacySession | None:
        """A session another instance opened (its declarative part from the fleet's store): served here
        too from now on. None when the session limits leave no room."""
        if not self._make_room(principal, now):
            return None
        session = LegacySession(
            session_id, fields.protocol_version, fields.capabilities, fields.client_info, principal
        )
        self._registry.add(session, now)
        self.refresh(session, fields)
        return session

    def refresh(self, session: LegacySession, fields: SessionFields) -> None:
        """What another instance may have changed: the log level and the subscriptions."""
        session.log_level = fields.log_level
        if fields.subscriptions != session.subscriptions:
            changed = fields.subscriptions ^ session.subscriptions
            session.subscriptions = set(fields.subscriptions)
            self._fanout.resync(changed)
        if fields.log_level is not None:
            self._fanout.apply_log_level(fields.log_level)

    def close(self, session: LegacySession, now: float) -> None:
        """DELETE, expiry or shutdown: cancel its calls, forget its subscriptions, end its streams."""
        self._calls.now = now
        self._registry.remove(session.id)
        for call in list(session.calls.values()):
            self._calls.cancel(call, "the session ended")
        session.asks.clear()
        self._fanout.drop_session_subscriptions(session)
        for slot in self._servers.values():
            slot.session_links.pop(session.id, None)
            self._calls.release(slot.opening.pop(session.id, []), None, 0.0, "the session ended")
        self._out.append(EndSession(session))

    def _make_room(self, principal: Principal, now: float) -> bool:
        """Past a limit, end the least recently used idle session of `principal` (or anyone's); False
        when every session in the way is busy (an open stream, a call in flight)."""
        evict = self._registry.make_room(principal)
        if evict is None:
            return False
        for old in evict:
            self.close(old, now)
        return True
