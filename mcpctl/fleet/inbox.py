"""Each instance's inbox: what must reach the instance holding something live (an answer to its question)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from mcpctl.fleet.store import StateStore, StateUnavailable
from mcpctl.protocol.jsonrpc import Message

log = logging.getLogger(__name__)

KEEP = 10_000  # entries an inbox keeps (a reader far behind loses the oldest; answers are fresh or moot)
BLOCK_MS = 1000

# (session id, message) -> the instance that holds the session's question takes it from here
Deliver = Callable[[str, Message], None]


class OwnerGone(StateUnavailable):
    """The instance that holds the call is gone (its lease lapsed): what was meant for it fails fast."""


class Inbox:
    """A Redis stream per instance; others append to it, only its own instance reads it."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def send(self, instance: str, session_id: str, message: Message) -> None:
        """Route `message` for `session_id` to `instance`; OwnerGone at once if that instance is dead."""
        if not await self._store.alive(instance):
            raise OwnerGone(f"the mcpctl instance {instance!r} that asked is gone")
        key = self._store.key("in", instance)
        entry: dict[Any, Any] = {"s": session_id, "m": json.dumps(message)}
        await self._store.run(lambda: self._store.redis.xadd(key, entry, maxlen=KEEP, approximate=True))

    async def send_to_others(self, session_id: str, message: Message) -> None:
        """`message` for `session_id` to every other live instance (one of them runs what it is about)."""
        for instance in await self._store.instances():
            if instance != self._store.instance:
                with contextlib.suppress(OwnerGone):
                    await self.send(instance, session_id, message)

    async def keep_reading(self, deliver: Deliver) -> None:
        """Hand each entry of this instance's inbox to `deliver`, for as long as the host runs."""
        key = self._store.key("in", self._store.instance)
        after = (
            ""  # from what is there when the reader first reaches Redis (older entries were a predecessor's)
        )
        while True:
            if not after:
                try:
                    last: Any = await self._store.run(lambda: self._store.redis.xrevrange(key, count=1))
                except StateUnavailable as exc:
                    log.warning("fleet: inbox: %s", exc.message)
                    await _pause()
                    continue
                after = last[0][0].decode() if last else "0-0"
            try:
                found: Any = await self._store.run(
                    functools.partial(self._store.redis.xread, {key: after}, count=100, block=BLOCK_MS)
                )
            except StateUnavailable as exc:
                log.warning("fleet: inbox: %s", exc.message)
                await _pause()
                continue
            for _, entries in found or []:
                for entry_id, fields in entries:
                    after = entry_id.decode()
                    try:
                        deliver(fields[b"s"].decode(), json.loads(fields[b"m"]))
                    except (KeyError, ValueError):
                        log.warning("fleet: inbox: dropped an entry that is not ours: %s", after)


async def _pause() -> None:
    await asyncio.sleep(1.0)  # Redis is down: look again in a second
