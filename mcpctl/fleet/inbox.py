"""Each instance's inbox: what must reach the instance holding something live, and the way back.

Entries are small JSON objects: `{"k": "session", "s": SESSION, "m": MESSAGE}` (a client's answer
to a question, or a cancellation, for a session's call here) or `{"k": "retry", "m": MESSAGE,
"p": PRINCIPAL, "r": REPLY}` (a 2026-07-28 retry whose call is held here; what the call says goes
into the reply stream REPLY, which the forwarding instance relays to its client). Each also says
which incarnation of the instance it was sent to (`"i"`, the value of its lease).

A forwarded retry's sender waits for the reply only while that incarnation holds its lease; so the
receiver, if its lease lapsed meanwhile (it was stopped: SIGSTOP, a frozen VM), drops the retries
sent to its earlier incarnation rather than run calls whose clients were told owner_unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from mcpctl.fleet.store import StateStore, StateUnavailable
from mcpctl.protocol.jsonrpc import Message

log = logging.getLogger(__name__)

KEEP = 10_000  # entries an inbox keeps (a reader far behind loses the oldest; answers are fresh or moot)
BLOCK_MS = 1000
REPLY_TTL_MS = 600_000  # a reply stream nobody reads any more goes away by itself

Entry = dict[str, Any]
Deliver = Callable[[Entry], None]


class OwnerGone(StateUnavailable):
    """The instance that holds the call is gone (its lease lapsed): what was meant for it fails fast."""


class Inbox:
    """A Redis stream per instance; others append to it, only its own instance reads it."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def send(self, instance: str, entry: Entry) -> str:
        """Put `entry` in `instance`'s inbox; OwnerGone at once if that instance is dead. Returns the
        incarnation of `instance` it was sent to."""
        incarnation = await self._store.lease_of(instance)
        if incarnation is None:
            raise OwnerGone(f"the mcpctl instance {instance!r} that holds the call is gone")
        key = self._store.key("in", instance)
        fields: dict[Any, Any] = {"e": json.dumps({**entry, "i": incarnation})}
        await self._store.run(lambda: self._store.redis.xadd(key, fields, maxlen=KEEP, approximate=True))
        return incarnation

    async def send_to_others(self, entry: Entry) -> None:
        """`entry` to every other live instance (one of them runs what it is about)."""
        for instance in await self._store.instances():
            if instance != self._store.instance:
                with contextlib.suppress(OwnerGone):
                    await self.send(instance, entry)

    def reply_key(self) -> str:
        return self._store.key("reply", secrets.token_hex(12))

    async def reply(self, key: str, message: Message, final: bool) -> None:
        """One message of a forwarded call, for the instance whose client waits for it."""

        async def add() -> Any:
            async with self._store.redis.pipeline(transaction=False) as pipe:
                pipe.xadd(key, {"m": json.dumps(message), "f": "1" if final else "0"})
                pipe.pexpire(key, REPLY_TTL_MS)
                return await pipe.execute()

        await self._store.run(add)

    async def replies(
        self,
        key: str,
        instance: str | None = None,
        incarnation: str | None = None,
        quiet: float | None = None,
    ) -> AsyncIterator[tuple[Message, bool]]:
        """What the holding instance says for a forwarded call, up to its final message.

        `instance` and `incarnation` (what `send` returned): OwnerGone as soon as that incarnation's
        lease lapses while nothing comes (a stopped or dead instance is not waited for). `quiet`:
        seconds without a word after which its answer counts as lost (it would have timed out).
        """
        after = "0-0"
        heard = time.monotonic()
        while True:
            found: Any = await self._store.run(
                functools.partial(self._store.redis.xread, {key: after}, count=100, block=BLOCK_MS)
            )
            if not found and instance is not None:
                if await self._store.lease_of(instance) != incarnation:
                    raise OwnerGone(f"the mcpctl instance {instance!r} that holds the call stopped answering")
                if quiet is not None and time.monotonic() - heard > quiet:
                    raise OwnerGone(f"no word from the mcpctl instance {instance!r} for {quiet:g}s")
            if found:
                heard = time.monotonic()
            for _, entries in found or []:
                for entry_id, fields in entries:
                    after = entry_id.decode()
                    final = fields.get(b"f") == b"1"
                    if final:  # before the yield: a caller that has what it waited for reads no further
                        with contextlib.suppress(StateUnavailable):
                            await self._store.run(lambda: self._store.redis.delete(key))
                    yield json.loads(fields[b"m"]), final
                    if final:
                        return

    async def keep_reading(self, deliver: Deliver) -> None:
        """Hand each entry of this instance's inbox to `deliver`, for as long as the host runs."""
        key = self._store.key("in", self._store.instance)
        after = ""  # from what is there when first reached (older entries were a predecessor's)
        while True:
            try:
                if not after:
                    last: Any = await self._store.run(lambda: self._store.redis.xrevrange(key, count=1))
                    after = last[0][0].decode() if last else "0-0"
                found: Any = await self._store.run(
                    functools.partial(self._store.redis.xread, {key: after}, count=100, block=BLOCK_MS)
                )
            except StateUnavailable as exc:
                log.warning("fleet: inbox: %s", exc.message)
                await asyncio.sleep(1.0)  # Redis is down: look again in a second
                continue
            if found:
                await self._store.held()  # after a pause: has the lease lapsed meanwhile?
            for _, entries in found or []:
                for entry_id, fields in entries:
                    after = entry_id.decode()
                    try:
                        entry = json.loads(fields[b"e"])
                    except (KeyError, ValueError):
                        log.warning("fleet: inbox: dropped an entry that is not ours: %s", after)
                        continue
                    if entry.get("k") == "retry" and not self._store.current(entry.get("i")):
                        log.warning(
                            "fleet: inbox: dropped a retry forwarded before this instance's lease lapsed"
                        )
                        continue
                    deliver(entry)
