"""Relay an outbox onto an open SSE stream until the outbox closes or the client goes away."""

from __future__ import annotations

import asyncio

from mcpctl.edge.asgi import Receive, SSEWriter, watch_disconnect
from mcpctl.gateway.streams import Outbox
from mcpctl.protocol.sse import KEEPALIVE

KEEPALIVE_SECONDS = 15.0


async def pump(sse: SSEWriter, outbox: Outbox, receive: Receive, event: str | None = None) -> bool:
    """Write what lands in `outbox` (as `event` events) until it closes or the client goes.

    Idle streams get a keep-alive comment every KEEPALIVE_SECONDS, so proxies do not cut them.
    Returns whether the client is still there (the caller may then end the stream its own way).
    """
    gone = asyncio.Event()

    def disconnected() -> None:
        gone.set()
        outbox.kick()  # wakes the wait below at once

    watcher = watch_disconnect(receive, disconnected)
    outbox.reading = True
    try:
        while not outbox.closed and not gone.is_set():
            msg = await outbox.next(KEEPALIVE_SECONDS)
            if gone.is_set():
                break
            if msg is not None:
                await sse.event(msg, event=event)
            elif not outbox.closed:
                await sse.raw(KEEPALIVE)
    finally:
        outbox.reading = False
        watcher.cancel()
    return not gone.is_set()
