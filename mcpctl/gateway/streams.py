"""What a client reads: a call's stream of interim messages and its answer, a standalone stream's outbox."""

from __future__ import annotations

import asyncio
from collections import deque

from mcpctl.gateway.mailbox import Mailbox
from mcpctl.protocol.jsonrpc import Message

# Interim messages (progress, logs, server->client requests) held for a client that reads slowly;
# past this, progress and log notifications are dropped (and counted), never the response.
MAX_INTERIM = 1000
# Messages kept for a standalone stream that reads slowly, and for one nobody reads (a session
# without its GET stream open: thousands of those must not hold thousands of messages each); past
# this the oldest are dropped: list_changed and logs are hints, not data.
OUTBOX_LIMIT = 256
IDLE_OUTBOX_LIMIT = 32


class CallStream(Mailbox):
    """One call's messages for its client: the router's decisions, in order; the answer last."""

    __slots__ = ("_final", "_items", "dropped")

    def __init__(self) -> None:
        self._items: deque[Message] = deque()
        self._final: Message | None = None
        self._waiter = None
        self._timer = None
        self.dropped = 0

    @property
    def answered(self) -> bool:
        return self._final is not None

    def push(self, msg: Message) -> None:
        if self._final is not None:
            return
        if len(self._items) >= MAX_INTERIM and "id" not in msg:
            self.dropped += 1
            return
        self._items.append(msg)
        self._wake()

    def finish(self, msg: Message) -> None:
        if self._final is None:
            self._final = msg
            self._wake()

    async def next(self) -> tuple[Message, bool]:
        """The next message and whether it is the final one."""
        while (found := self.take()) is None:
            await self.arrival()
        return found

    def take(self) -> tuple[Message, bool] | None:
        """The next message and whether it is the final one; None when none has come yet (await
        `arrival`). With `next`'s loop written out in the reader, a call makes no coroutine for it."""
        if self._items:
            return self._items.popleft(), False
        final = self._final
        return None if final is None else (final, True)

    def arrival(self) -> asyncio.Future[None]:
        """A future to await at once, resolved when a message comes (the router's deadlines end
        every call: no timer of its own)."""
        return self._wait(None)


class Outbox(Mailbox):
    """Server-initiated messages for one standalone stream (a session's GET or /sse, a listen stream)."""

    __slots__ = ("_items", "closed", "dropped", "reading")

    def __init__(self) -> None:
        # a list, not a deque: an empty deque is 760 bytes, and every session holds an outbox
        self._items: list[Message] = []
        self._waiter = None
        self._timer = None
        self.closed = False
        self.dropped = 0
        self.reading = False  # a stream is open and reading it

    def put(self, msg: Message) -> None:
        if self.closed:
            return
        if "params" not in msg and "id" not in msg and msg in self._items:
            return  # a bare notification already waiting (list_changed) says it all once
        if len(self._items) >= (OUTBOX_LIMIT if self.reading else IDLE_OUTBOX_LIMIT):
            del self._items[0]
            self.dropped += 1
        self._items.append(msg)
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def kick(self) -> None:
        """Wake a reader without a message (its stream is going away; the outbox stays)."""
        self._wake()

    async def next(self, timeout: float) -> Message | None:
        """The next message, or None on timeout or close (check `closed`)."""
        if not self._items and not self.closed:
            await self._wait(timeout)
        return self._items.pop(0) if self._items else None
