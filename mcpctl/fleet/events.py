"""A session's standalone stream, fleet-wide: messages go into a Redis stream; the GET holder reads it.

Whatever instance decides that a session should hear something appends it to the session's
stream; whichever instance holds the session's GET stream reads from it, in order, and writes
SSE events whose ids are the stream's entry ids, so `Last-Event-ID` resumes on any instance.
A new GET (on any instance) takes the stream over: the previous holder sees the claim change
within a second and ends its stream. A cursor remembers what was delivered, so a new GET
without `Last-Event-ID` gets what no stream has delivered yet, and nothing twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from typing import Any

from mcpctl.fleet.store import StateStore, StateUnavailable
from mcpctl.protocol.jsonrpc import Message

log = logging.getLogger(__name__)

KEEP = 256  # messages a session's stream keeps (older ones are hints nobody read in time)
BLOCK_MS = 1000  # a reader looks at its claim at least this often


class SessionEvents:
    """Appends (in order, batched per turn of the event loop) and reads sessions' streams."""

    def __init__(self, store: StateStore, idle_ttl: float) -> None:
        self._store = store
        self._ttl_ms = int(idle_ttl * 1000)
        self._queue: deque[tuple[str, Message]] = deque()
        self._wake = asyncio.Event()

    def post(self, session_id: str, message: Message) -> None:
        """Queue a message for a session's stream (written by `keep_writing`, in order)."""
        self._queue.append((session_id, message))
        self._wake.set()

    async def keep_writing(self) -> None:
        """Write queued messages, a batch per round trip, for as long as the host runs."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._queue)
            self._queue.clear()
            try:
                await self._store.run(functools.partial(self._append, batch))
            except StateUnavailable as exc:
                log.warning("fleet: %d message(s) for sessions' streams lost: %s", len(batch), exc.message)

    async def _append(self, batch: list[tuple[str, Message]]) -> Any:
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for session_id, message in batch:
                key = self._store.key("ev", session_id)
                pipe.xadd(key, {"m": json.dumps(message)}, maxlen=KEEP, approximate=True)
                pipe.pexpire(key, self._ttl_ms)
            return await pipe.execute()

    async def claim(self, session_id: str) -> int:
        """Take the session's stream over; the returned epoch is this reader's."""
        key = self._store.key("get", session_id)

        async def take() -> Any:
            async with self._store.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.pexpire(key, self._ttl_ms)
                return await pipe.execute()

        result = await self._store.run(take)
        return int(result[0])

    async def still_mine(self, session_id: str, epoch: int) -> bool:
        current = await self._store.run(lambda: self._store.redis.get(self._store.key("get", session_id)))
        return current is not None and int(current) == epoch

    async def start_after(self, session_id: str, last_event_id: str | None) -> str:
        """Where a new reader starts: after `Last-Event-ID`, else after what was last delivered."""
        if last_event_id:
            return last_event_id
        cursor: Any = await self._store.run(lambda: self._store.redis.get(self._store.key("cur", session_id)))
        return cursor.decode() if cursor else "0-0"

    async def read(self, session_id: str, after: str) -> list[tuple[str, Message]]:
        """Messages after entry `after` (waits up to BLOCK_MS for one)."""
        key = self._store.key("ev", session_id)
        found: Any = await self._store.run(
            lambda: self._store.redis.xread({key: after}, count=100, block=BLOCK_MS)
        )
        out: list[tuple[str, Message]] = []
        for _, entries in found or []:
            for entry_id, fields in entries:
                try:
                    out.append((entry_id.decode(), json.loads(fields[b"m"])))
                except (KeyError, ValueError):
                    continue
        return out

    async def delivered(self, session_id: str, entry_id: str) -> None:
        key = self._store.key("cur", session_id)
        await self._store.run(lambda: self._store.redis.set(key, entry_id, px=self._ttl_ms))
