"""A session's standalone stream, fleet-wide: messages go into Redis streams; the GET holder reads them.

Whatever instance decides that a session should hear something appends it to the session's
stream; list changes (which concern every session) go once into the fleet's `changes` stream,
unless another instance already announced the same new view. Whichever instance holds the
session's GET stream reads both, in order, and writes SSE events whose ids are the two streams'
positions, so `Last-Event-ID` resumes on any instance. A new GET (on any instance) takes the
stream over: the previous holder sees the claim change within a second and ends its stream.
A cursor remembers what was delivered, so a GET without `Last-Event-ID` gets what no stream
has delivered yet, and nothing twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

from mcpctl.fleet.store import StateStore, StateUnavailable
from mcpctl.protocol.jsonrpc import Message

log = logging.getLogger(__name__)

KEEP: Final = 256  # messages a session's stream keeps (older ones are hints nobody read in time)
KEEP_CHANGES: Final = 1000
BLOCK_MS: Final = 1000  # a reader looks at its claim at least this often
# Append a list change once per new view, however many instances saw it.
_ANNOUNCE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Cursor:
    """Where a reader is: in the session's stream and in the fleet's changes (an SSE event id)."""

    own: str
    changes: str

    def __str__(self) -> str:
        return f"{self.own}_{self.changes}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        own, _, changes = text.partition("_")
        return cls(own, changes) if own and changes else None


@dataclass(frozen=True)
class _Write:
    session_id: str | None  # None: a list change for every session
    message: Message
    digest: str = ""


class SessionEvents:
    """Appends (in order, a batch per round trip) and reads sessions' streams."""

    def __init__(self, store: StateStore, idle_ttl: float) -> None:
        self._store = store
        self._ttl_ms = int(idle_ttl * 1000)
        self._queue: deque[_Write] = deque()
        self._wake = asyncio.Event()
        self._announce = store.redis.register_script(_ANNOUNCE)

    def post(self, session_id: str, message: Message) -> None:
        """Queue a message for one session's stream (written by `keep_writing`, in order)."""
        self._queue.append(_Write(session_id, message))
        self._wake.set()

    def broadcast(self, message: Message, digest: str) -> None:
        """Queue a list change for every session, once per new view (`digest`) in the whole fleet."""
        self._queue.append(_Write(None, message, digest))
        self._wake.set()

    async def keep_writing(self) -> None:
        """Write what is queued, a batch per round trip, for as long as the host runs."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._queue)
            self._queue.clear()
            try:
                await self._store.run(functools.partial(self._append, batch))
            except StateUnavailable as exc:
                log.warning("fleet: %d message(s) for sessions' streams lost: %s", len(batch), exc.message)

    async def _append(self, batch: list[_Write]) -> Any:
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for write in batch:
                body = json.dumps(write.message)
                if write.session_id is None:
                    method = str(write.message.get("method"))
                    keys = [self._store.key("view", method), self._store.key("changes")]
                    await self._announce(keys=keys, args=[write.digest, body, KEEP_CHANGES], client=pipe)
                    continue
                key = self._store.key("ev", write.session_id)
                pipe.xadd(key, {"m": body}, maxlen=KEEP, approximate=True)
                pipe.pexpire(key, self._ttl_ms)
            return await pipe.execute()

    # -- the reader's side -----------------------------------------------------------------------------

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

    async def start(self, session_id: str, last_event_id: str | None) -> Cursor:
        """Where a new reader starts: after `Last-Event-ID`, else after what was last delivered, else
        at the beginning of the session's stream and the present of the fleet's changes."""
        resumed = Cursor.parse(last_event_id) if last_event_id else None
        if resumed is not None:
            return resumed
        stored: Any = await self._store.run(lambda: self._store.redis.get(self._store.key("cur", session_id)))
        delivered = Cursor.parse(stored.decode()) if stored else None
        if delivered is not None:
            return delivered
        last: Any = await self._store.run(
            lambda: self._store.redis.xrevrange(self._store.key("changes"), count=1)
        )
        return Cursor("0-0", last[0][0].decode() if last else "0-0")

    async def read(self, session_id: str, after: Cursor) -> list[tuple[Cursor, Message]]:
        """Messages after `after`, in order within each stream (waits up to BLOCK_MS for one)."""
        own_key, changes_key = self._store.key("ev", session_id), self._store.key("changes")
        found: Any = await self._store.run(
            lambda: self._store.redis.xread(
                {own_key: after.own, changes_key: after.changes}, count=100, block=BLOCK_MS
            )
        )
        out: list[tuple[Cursor, Message]] = []
        position = after
        for stream, entries in found or []:
            mine = stream.decode() == own_key
            for entry_id, fields in entries:
                entry = entry_id.decode()
                position = Cursor(entry, position.changes) if mine else Cursor(position.own, entry)
                try:
                    out.append((position, json.loads(fields[b"m"])))
                except (KeyError, ValueError):
                    continue
        return out

    async def delivered(self, session_id: str, cursor: Cursor) -> None:
        key = self._store.key("cur", session_id)
        await self._store.run(lambda: self._store.redis.set(key, str(cursor), px=self._ttl_ms))
