"""The connection to the fleet's Redis: scripts, the liveness lease, and Redis's errors mapped once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from mcpctl.errors import UnavailableError
from mcpctl.fleet import scripts

log = logging.getLogger(__name__)

PREFIX = "mcpctl:"
LEASE_MS = 5000  # an instance whose lease lapses is gone: what was routed to it fails fast
RENEW_SECONDS = 1.0
RETRY_AFTER = 2  # seconds a client is told to wait when the state store is down
T = TypeVar("T")


class StateUnavailable(UnavailableError):
    """The fleet's state store cannot be reached; session-bound work fails closed."""


class StateStore:
    """One Redis for the fleet. Every call is bounded in time; none hangs when Redis is gone.

    Started while Redis is down, the store keeps trying (through the lease loop) and serves as
    soon as Redis answers: no restart needed.
    """

    def __init__(self, url: str, instance: str, *, timeout: float = 3.0) -> None:
        self.url = url
        self.instance = instance
        # A pooled connection that Redis closed (it restarted) is found out at its next use: that
        # one exchange is tried again at once on a new connection, rather than failed (503) while
        # Redis is there. Only then: a timeout is not retried (a request never waits twice as long).
        once = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
        self.redis: aioredis.Redis = aioredis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=False, retry=once
        )
        self.healthy = False
        self.last_problem = "not connected yet"
        # The lease's value: a new one each time the lease lapsed (this instance was stopped or cut off
        # for longer than a lease). What others sent to an earlier one, they may have given up on.
        self.incarnation = secrets.token_hex(8)
        self._renewed: float | None = None  # when the last renewal that succeeded was sent (monotonic)
        self._renewal = asyncio.Event()
        self._load = self.redis.register_script(scripts.LOAD_AND_ADMIT)
        self._count = self.redis.register_script(scripts.COUNT_LIVE)

    # -- calls, with Redis's errors mapped ---------------------------------------------------------

    async def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis exchange; StateUnavailable (and `healthy` false) when Redis cannot be reached."""
        try:
            value = await make()
        # RuntimeError: uvloop's "the handler is closed", when redis-py writes on a connection that a
        # restarting Redis closed (redis-py does not map it); a crashed loop would take the host down
        except (RedisError, OSError, RuntimeError) as exc:
            self.healthy = False
            self.last_problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StateUnavailable(
                f"the fleet's state store ({self.url}) is unavailable: {self.last_problem}"
            ) from exc
        self.healthy = True
        return value

    async def load_and_admit(
        self, session_id: str | None, principal_tag: str, idle_ms: int, buckets: list[tuple[str, int, int]]
    ) -> tuple[dict[str, bytes] | None, list[int]]:
        """One round trip: a session's record (touched) if `principal_tag` owns it, and for each
        (key, interval us, burst) bucket 0 (allowed, taken) or how many milliseconds to wait."""
        keys = [
            self.key("s", session_id) if session_id else "",
            self.key("live"),
            *(self.key("rl", k) for k, _, _ in buckets),
        ]
        argv: list[Any] = [principal_tag, idle_ms, session_id or ""]
        for _, interval, burst in buckets:
            argv.extend((interval, burst))
        out = await self.run(lambda: self._load(keys=keys, args=argv))
        fields = out[0]
        record = None
        if fields:
            record = {fields[i].decode(): fields[i + 1] for i in range(0, len(fields), 2)}
        return record, [-(-int(x) // 1000) for x in out[1:]]  # microseconds, rounded up to ms

    async def count_live(self) -> int:
        return int(await self.run(lambda: self._count(keys=[self.key("live")])))

    def key(self, *parts: object) -> str:
        return PREFIX + ":".join(str(p) for p in parts)

    # -- the lease: this instance is alive -------------------------------------------------------------

    async def keep_lease(self, also: Callable[[], Awaitable[None]] | None = None) -> None:
        """Renew this instance's lease every second, for as long as the host runs (it also probes
        Redis's health: an instance started while Redis was down recovers here), then run `also`."""
        while True:
            try:
                await self._renew()
                if also is not None:
                    await also()
            except StateUnavailable as exc:
                log.warning("fleet: %s", exc.message)
            await asyncio.sleep(RENEW_SECONDS)

    async def _renew(self) -> None:
        key = self.key("inst", self.instance)
        sent = time.monotonic()
        before = await self.run(lambda: self.redis.set(key, self.incarnation, px=LEASE_MS, get=True))
        if before is None and self._renewed is not None:
            # The lease lapsed: for a while the fleet took this instance for gone (forwarded retries
            # were told owner_unavailable). Rejoin as a new incarnation, so that what was sent to the
            # old one is recognized (see `current`).
            self.incarnation = secrets.token_hex(8)
            await self.run(lambda: self.redis.set(key, self.incarnation, px=LEASE_MS))
            log.warning(
                "fleet: this instance's lease lapsed (it was stopped, or cut off from the store, for "
                "%.1f s); it rejoins, and drops the retries forwarded to it before",
                sent - self._renewed,
            )
        self._renewed = sent
        self._renewal.set()

    async def held(self) -> None:
        """Return once this instance's lease is known to be held now: renewed less than a lease ago
        (after a pause, such as SIGSTOP, this waits for the renewal that tells whether it lapsed)."""
        margin = LEASE_MS / 1000 - RENEW_SECONDS
        while self._renewed is None or time.monotonic() - self._renewed >= margin:
            self._renewal.clear()
            await self._renewal.wait()

    def current(self, incarnation: object) -> bool:
        """Whether something sent to `incarnation` of this instance was sent to this one (no lapse since)."""
        return incarnation is None or incarnation == self.incarnation

    async def instances(self) -> list[str]:
        """The instances whose lease is alive (this one included)."""
        prefix = self.key("inst", "")

        async def scan() -> list[str]:
            return [
                key.decode().removeprefix(prefix) async for key in self.redis.scan_iter(match=prefix + "*")
            ]

        return await self.run(scan)

    async def lease_of(self, instance: str) -> str | None:
        """The incarnation whose lease `instance` holds; None if it is gone (its lease lapsed)."""
        value: Any = await self.run(lambda: self.redis.get(self.key("inst", instance)))
        return value.decode() if value is not None else None

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):  # best effort: the lease lapses anyway
            await self.redis.delete(self.key("inst", self.instance))  # a clean stop: route nothing here
        await self.redis.aclose()
