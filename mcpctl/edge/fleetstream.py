"""A session's GET stream in a fleet: read from the session's stream in the store, resumable anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import time

from mcpctl.edge.asgi import Request, Send, SSEWriter, watch_disconnect
from mcpctl.fleet.events import SessionEvents
from mcpctl.fleet.store import StateUnavailable
from mcpctl.gateway.streams import Outbox
from mcpctl.protocol.sse import KEEPALIVE
from mcpctl.router.sessions import LegacySession

KEEPALIVE_SECONDS = 15.0


async def fleet_stream(events: SessionEvents, session: LegacySession, request: Request, send: Send) -> None:
    """Take the session's stream over and relay it until the client goes, the host stops, or a newer
    GET (on any instance) takes it. Event ids are the store's entry ids: `Last-Event-ID` resumes."""
    epoch = await events.claim(session.id)
    after = await events.start(session.id, request.headers.get("last-event-id"))
    sse = SSEWriter(send)
    left = asyncio.Event()
    watcher = watch_disconnect(request.receive, left.set)
    session.stream_open = True
    quiet_since = time.monotonic()
    try:
        await sse.start([(b"mcp-session-id", session.id.encode())])
        while not left.is_set() and not _ended(session):
            batch = await events.read(session.id, after)  # waits up to a second for news
            if left.is_set():
                break
            if batch and not await events.still_mine(session.id, epoch):
                break  # taken over while this instance was away (e.g. stopped): it delivered these
            for position, message in batch:
                await sse.event(message, event_id=str(position))
                after = position
            if batch:
                await events.delivered(session.id, after)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                await sse.raw(KEEPALIVE)
                quiet_since = time.monotonic()
            if not batch and not await events.still_mine(session.id, epoch):
                break  # a newer GET (here or on another instance) reads it now
        if not left.is_set():
            with contextlib.suppress(OSError):
                await sse.end()
    except StateUnavailable:
        return  # the store went away: the client reconnects, with Last-Event-ID, and loses nothing
    finally:
        session.stream_open = False
        watcher.cancel()


def _ended(session: LegacySession) -> bool:
    """The session ended here (DELETE, expiry) or the host is stopping (it closes the outboxes)."""
    return isinstance(session.io, Outbox) and session.io.closed
