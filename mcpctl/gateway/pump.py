"""The async side of the gateway: feeds the router, performs its actions, owns the timer and the waiting."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import cast

from mcpctl.errors import McpctlError
from mcpctl.fleet.node import FleetNode
from mcpctl.fleet.store import StateUnavailable
from mcpctl.gateway.elsewhere import ELSEWHERE, Elsewhere
from mcpctl.gateway.placed import PlacedServers
from mcpctl.gateway.streams import CallStream, Outbox
from mcpctl.mcpclient.connection import Connection
from mcpctl.protocol import codes
from mcpctl.protocol.catalog import Lists
from mcpctl.protocol.jsonrpc import REQUEST, Message, kind_of
from mcpctl.router.actions import (
    EndSession,
    OpenLink,
    PostToListener,
    PostToSession,
    RefreshLists,
    SendToBackend,
    StreamToClient,
    Warn,
)
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext, Principal
from mcpctl.router.links import Link
from mcpctl.router.router import Router
from mcpctl.router.servers import State
from mcpctl.router.sessions import LegacySession
from mcpctl.router.streams import Forwarded, Immediate, Listener, Listening, Reply
from mcpctl.router.targets import target
from mcpctl.tasks import TaskHost

log = logging.getLogger(__name__)

# Opens a session's own child of a server: the connection and its lists.
LinkOpener = Callable[[str, str], Awaitable[tuple[Connection, Lists]]]


class Gateway(PlacedServers):
    """The one place router decisions meet I/O; everything here runs on the event loop, never blocking.

    The edge calls `handle` for each client message and reads `stream(call)` for forwarded
    calls; the supervisor reports servers (`server_up`, `server_state`); connections report
    what backends send (`message`, `closed`).
    """

    def __init__(
        self,
        router: Router,
        tasks: TaskHost,
        open_link: LinkOpener,
        end_session: Callable[[str], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        fleet: FleetNode | None = None,
    ) -> None:
        self.router = router
        self.fleet = fleet  # one of several instances: sessions live in the fleet's store
        self._elsewhere = Elsewhere(self, fleet, tasks) if fleet is not None else None
        self._tasks = tasks
        self._open_link = open_link
        self._end_session = end_session
        self._clock = clock
        self._links: dict[Connection, Link] = {}
        self._draining = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    # -- the edge's side -------------------------------------------------------------------------

    def deliver(self, ctx: ClientContext, msg: Message) -> None:
        """A client message that reached this instance through another (an answer, a cancellation)."""
        self.router.client_message(ctx, msg, self._clock())
        self._drain()

    def handle(self, ctx: ClientContext, msg: Message) -> Reply:
        """One validated client message; never raises for anything a client can send."""
        reply = self.router.client_message(ctx, msg, self._clock())
        self._attach(reply)
        self._drain()
        return reply

    def open_session(
        self, ctx: ClientContext, msg: Message, existing: LegacySession | None = None
    ) -> Immediate:
        reply = self.router.keeper.open(ctx, msg, self._clock(), existing)
        self._attach(reply)
        self._drain()
        return reply

    def new_sse_session(self, principal: Principal) -> LegacySession | None:
        """The 2024-11-05 transport: the session exists from the moment its stream opens.

        None when the session limits leave no room (every session in the way is busy).
        """
        session = self.router.keeper.new(principal, self._clock(), transport="sse")
        self._drain()  # sessions that made room are ended
        if session is not None:
            session.protocol_version = "2024-11-05"
            session.io = Outbox()
        return session

    def session(self, session_id: str) -> LegacySession | None:
        return self.router.sessions.get(session_id, self._clock())

    async def find_session(
        self, session_id: str | None, principal: Principal, msg: Message | None = None
    ) -> tuple[LegacySession | None, tuple[int, ...] | None]:
        """The 2025-era session a request names, if `principal` holds it (in a fleet: from the store,
        wherever it was opened), and in a fleet the shared rate limits' verdicts on `msg`, from the
        same round trip. StateUnavailable when the fleet's store cannot say."""
        if self.fleet is None:
            session = self.session(session_id) if session_id else None
            verdicts = None
        else:
            buckets = self._buckets(principal, msg) if msg is not None else []
            session, waits = await self.fleet.sessions.find(session_id, principal, self._clock(), buckets)
            self._drain()
            if session is not None and session.io is None:
                session.io = Outbox()
            verdicts = tuple(waits) if buckets else None
        if session is None or session.principal != principal:
            return None, verdicts  # another principal's session is as good as unknown
        return session, verdicts

    def _buckets(self, principal: Principal, msg: Message) -> list[tuple[str, int, int]]:
        """The shared rate limits a request will take a token from (where the router will send it)."""
        assert self.fleet is not None
        method = msg.get("method")
        if not isinstance(method, str) or "id" not in msg:
            return []
        router = self.router
        found = target(msg, router.catalog, router.resource_owner, router.config.bridge)
        server, name = (found[0], found[1]) if isinstance(found, tuple) else ("", "")
        return self.fleet.buckets(principal.name, method, server, name)

    async def session_opened(self, session: LegacySession) -> None:
        """Before the new session's id reaches its client: in a fleet, every instance must know it."""
        if self.fleet is not None:
            try:
                await self.fleet.sessions.opened(session)
            except StateUnavailable:
                self.close_session(session)
                raise

    async def session_changed(self, session: LegacySession) -> None:
        if self.fleet is not None:
            await self.fleet.sessions.changed(session)

    async def session_ended(self, session: LegacySession) -> None:
        self.close_session(session)
        if self.fleet is not None:
            await self.fleet.sessions.ended(session.id)

    def close_session(self, session: LegacySession) -> None:
        self.router.keeper.close(session, self._clock())
        self._drain()

    def cancel(self, call: Call, reason: str) -> None:
        """The client went away: cancel the call at its backend and end it."""
        self.router.cancel(call, reason, self._clock())
        self._drain()
        if self._elsewhere is not None:
            self._elsewhere.abandoned(call)  # it may run on another instance (placement = "one")

    def end_calls(self, reason: str) -> None:
        """Answer every call still running with an error (before the HTTP server drops connections)."""
        self.router.end_calls(reason, self._clock())
        self._drain()

    def remove_listener(self, listener: Listener) -> None:
        self.router.remove_listener(listener)
        if isinstance(listener.io, Outbox):
            listener.io.close()
        self._drain()

    async def stream(self, call: Call) -> AsyncGenerator[tuple[Message, bool], None]:
        """What the client receives for a forwarded call: interim messages, then the answer."""
        box: CallStream = call.io
        answered = False
        try:
            while not answered:
                msg, answered = await box.next()
                yield msg, answered
        finally:
            if not answered:
                self.cancel(call, "the client went away")

    def end_streams(self, holders: Callable[[Principal], bool]) -> int:
        """End the sessions and listening streams of these callers (their key stopped working)."""
        ended = 0
        for session in self.sessions():
            if holders(session.principal):
                if session.io is not None:
                    session.io.close()
                self.close_session(session)
                ended += 1
        for listener in self.listeners():
            if holders(listener.ctx.principal) and listener.io is not None:
                listener.io.close()
                ended += 1
        return ended

    def sessions(self) -> list[LegacySession]:
        return list(self.router.sessions)

    def listeners(self) -> list[Listener]:
        return list(self.router.fanout.listeners)

    def session_count(self) -> int:
        """Live 2025-era sessions: in a fleet, the whole fleet's (as of its last count)."""
        if self.fleet is not None:
            return self.fleet.live_sessions
        return self.router.sessions.count(self._clock())

    # -- the supervisor's side -------------------------------------------------------------------

    def server_up(self, name: str, connection: Connection, lists: Lists) -> None:
        assert connection.description is not None
        link = self.router.backends.link_up(name, connection.description, lists, self._clock())
        link.io = connection
        self._links[connection] = link
        self._drain()

    def server_state(self, name: str, state: str, reason: str = "", retry_at: float | None = None) -> None:
        self.router.backends.server_state(name, cast(State, state), self._clock(), reason, retry_at)
        self._drain()

    # -- the connections' side (mcpclient Handler) -----------------------------------------------

    def message(self, connection: Connection, msg: Message) -> None:
        link = self._links.get(connection)
        if link is None:  # still shaking hands: nobody can be asked yet
            if kind_of(msg) is REQUEST:
                refusal = {"code": codes.NO_ROUTE, "message": "mcpctl is still starting this server"}
                ping = msg.get("method") == "ping"
                connection.respond(msg["id"], result={} if ping else None, error=None if ping else refusal)
            return
        self.router.backends.message(link, msg, self._clock())
        self._drain()

    def closed(self, connection: Connection, reason: str) -> None:
        link = self._links.pop(connection, None)
        if link is not None:
            self.router.backends.link_down(link, reason, self._clock())
            self._drain()

    # -- performing ------------------------------------------------------------------------------

    def _attach(self, reply: Reply) -> None:
        """Give what the edge will read a place to read it from, before any action fills it."""
        if isinstance(reply, Forwarded) and (reply.call.io is None or reply.call.io.answered):
            reply.call.io = CallStream()  # a call that goes on after a round of input: the retry's stream
        elif isinstance(reply, Immediate) and reply.session is not None and reply.session.io is None:
            reply.session.io = Outbox()
        elif isinstance(reply, Listening):
            reply.listener.io = Outbox()

    def _drain(self) -> None:
        """Perform the router's actions in order; actions a performance adds are performed too."""
        if self._draining:
            return
        self._draining = True
        out = self.router.out
        try:
            index = 0
            while index < len(out):
                self._perform(out[index])
                index += 1
        finally:
            out.clear()
            self._draining = False
        deadline = self.router.next_deadline
        if deadline < self._timer_at:
            self._arm(deadline)

    def _perform(self, action: object) -> None:  # noqa: PLR0912 (a dispatcher)
        kind = type(action)
        if kind is SendToBackend:
            assert isinstance(action, SendToBackend)
            try:
                action.link.io.send(action.message)
            except (McpctlError, ValueError, TypeError, RecursionError) as exc:
                self.router.backends.send_failed(
                    action.link, action.message, str(exc) or type(exc).__name__, self._clock()
                )
        elif kind is StreamToClient:
            assert isinstance(action, StreamToClient)
            stream: CallStream = action.call.io
            if action.final:
                stream.finish(action.message)
            else:
                stream.push(action.message)
        elif kind is PostToSession:
            assert isinstance(action, PostToSession)
            if self.fleet is not None and action.session.transport == "streamable":
                self.fleet.events.post(action.session.id, action.message)  # its GET stream may be anywhere
            elif action.session.io is not None:
                action.session.io.put(action.message)
        elif kind is PostToListener:
            assert isinstance(action, PostToListener)
            if action.listener.io is not None:
                action.listener.io.put(action.message)
        elif kind is RefreshLists:
            assert isinstance(action, RefreshLists)
            self._tasks.spawn(
                self._refresh, action.link, action.kinds, name=f"re-reading {action.link.server}"
            )
        elif kind is OpenLink:
            assert isinstance(action, OpenLink)
            self._tasks.spawn(self._open, action.server, action.owner, name=f"starting {action.server}")
        elif kind is EndSession:
            assert isinstance(action, EndSession)
            if action.session.io is not None:
                action.session.io.close()
            self._tasks.spawn(self._end_session, action.session.id, name="ending a session's servers")
        elif kind in ELSEWHERE and self._elsewhere is not None:
            self._elsewhere.perform(action)  # type: ignore[arg-type]
        elif kind is Warn:
            assert isinstance(action, Warn)
            log.warning("%s", action.text)

    async def _refresh(self, link: Link, kinds: tuple[str, ...]) -> None:
        connection: Connection = link.io
        try:
            lists = await connection.read_lists(kinds)
        except McpctlError as exc:
            self.router.backends.lists_failed(link, kinds, exc.message)
        else:
            self.router.backends.lists_read(link, kinds, lists)
        self._drain()

    async def _open(self, server: str, owner: str) -> None:
        try:
            connection, lists = await self._open_link(server, owner)
        except McpctlError as exc:
            self.router.backends.link_failed(server, owner, exc.message, self._clock())
            self._drain()
            return
        assert connection.description is not None
        link = self.router.backends.link_up(server, connection.description, lists, self._clock(), owner=owner)
        link.io = connection
        self._links[connection] = link
        self._drain()

    # -- time ------------------------------------------------------------------------------------

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        if deadline == math.inf:
            self._timer = None
            return
        delay = max(deadline - self._clock(), 0.0)
        self._timer = asyncio.get_running_loop().call_later(delay, self._tick)

    def _tick(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self.router.tick(self._clock())
        self._drain()
        if self._timer is None:
            self._arm(self.router.next_deadline)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
