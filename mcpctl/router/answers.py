"""The requests the router answers itself: log level, the aggregated lists, subscriptions, listens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mcpctl.protocol import codes
from mcpctl.protocol.catalog import Catalog
from mcpctl.protocol.eras import LOG_LEVELS, MODERN
from mcpctl.protocol.jsonrpc import Message, error, params_of, result
from mcpctl.protocol.pagination import InvalidCursor
from mcpctl.router import local
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.fanout import Fanout
from mcpctl.router.hooks import CallHooks, shown
from mcpctl.router.servers import ServerSlot
from mcpctl.router.streams import Immediate, Listening, Reply

if TYPE_CHECKING:
    from mcpctl.router.router import RouterConfig

LIST_WAIT: Final = 5.0  # a list asked for while servers first start waits this long for them


class Answers:
    """The router's part that needs no backend (a mixin: `Router` holds the state it reads)."""

    config: RouterConfig
    catalog: Catalog
    fanout: Fanout
    hooks: CallHooks
    servers: dict[str, ServerSlot]
    _cache_scope: str

    def resource_owner(self, uri: str) -> str | None:
        raise NotImplementedError

    def _refuse(
        self,
        ctx: ClientContext,
        msg: Message,
        server: str,
        name: str,
        err: dict[str, object],
        waiting: Call | None,
    ) -> Reply:
        raise NotImplementedError

    def _wait_for_start(self, ctx: ClientContext, msg: Message, now: float, wait: float) -> Reply:
        raise NotImplementedError

    def _set_level(self, ctx: ClientContext, msg: Message) -> Reply:
        level = params_of(msg).get("level")
        if level not in LOG_LEVELS:
            text = f"level must be one of {', '.join(LOG_LEVELS)}"
            return Immediate(error(msg["id"], codes.INVALID_PARAMS, text))
        if ctx.session is not None:
            ctx.session.log_level = str(level)
        self.fanout.apply_log_level(str(level))
        return Immediate(result(msg["id"], {}))

    def _list(self, ctx: ClientContext, msg: Message, now: float, waiting: Call | None = None) -> Reply:
        if waiting is None and any(slot.first_start for slot in self.servers.values()):
            return self._wait_for_start(ctx, msg, now, LIST_WAIT)
        kind, _ = local.LISTS[msg["method"]]
        named_by = local.NAMED_BY[kind]
        entries = shown(self.hooks, ctx, kind, self.catalog.view(kind), named_by)
        modern = ctx.era is MODERN
        try:
            body = local.list_result(
                msg["method"],
                entries,
                params_of(msg).get("cursor"),
                self.config.page_size,
                modern,
                self._cache_scope,
            )
        except InvalidCursor as exc:
            return Immediate(error(msg["id"], codes.INVALID_PARAMS, f"Invalid cursor: {exc}"))
        return Immediate(result(msg["id"], body))

    def _subscribe(self, ctx: ClientContext, msg: Message) -> Reply:
        uri = params_of(msg).get("uri")
        if ctx.session is None or not isinstance(uri, str):
            text = "resources/subscribe needs params.uri and a session"
            return Immediate(error(msg["id"], codes.INVALID_PARAMS, text))
        server = self.resource_owner(uri)
        if server is None:
            return Immediate(
                error(msg["id"], codes.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})
            )
        if msg["method"] == "resources/subscribe":
            refusal = self.hooks.admit(ctx, msg["method"], server, uri, params_of(msg))
            if refusal is not None:  # a resource the caller may not read is not one it may watch
                return self._refuse(ctx, msg, server, uri, refusal, None)
            ctx.session.subscriptions.add(uri)
        else:
            ctx.session.subscriptions.discard(uri)
        self.fanout.sync_backend_subscription(server, uri)
        return Immediate(result(msg["id"], {}))

    def _listen(self, ctx: ClientContext, msg: Message) -> Reply:
        if ctx.era is not MODERN:
            text = "subscriptions/listen is part of 2026-07-28"
            return Immediate(error(msg["id"], codes.METHOD_NOT_FOUND, text))
        listener, ack = local.listener_for(ctx, msg)
        self.fanout.add_listener(listener)
        return Listening(listener, ack)
