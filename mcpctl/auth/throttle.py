"""Which auth failures reach the audit trail: a burst, then a steady trickle, per client address."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc

from mcpctl.audit.api import AuditRecorder
from mcpctl.limits.buckets import Bucket, BucketGroup, Decision, MemoryLimiter

# Addresses whose suppressed failures are counted one by one; past this, further ones are
# counted together (an attacker with many addresses cannot grow the table).
MAX_ADDRESSES = 10_000
OTHERS = "(other addresses)"


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Failures from `address` that were not recorded one by one."""

    address: str
    count: int


class FailureThrottle:
    """A token bucket per client address (and one for all of them) decides which 401s are recorded.

    A client that keeps failing gets `burst` records, then `per_minute`; what it sends beyond is
    counted, and summed up in one record when its bucket lets a record through again (`due`).
    So a flood of bad credentials costs the audit trail a few records a minute per address, not
    one per request, and nothing about it is lost from view. The global bucket (ten times an
    address's) bounds an attacker with many addresses.
    """

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        rate = per_minute / 60.0
        self._per_address = (float(burst), rate)
        self._limiter = MemoryLimiter(clock, max_buckets=MAX_ADDRESSES)
        # in a limiter of its own, so that evicting addresses can never evict it
        self._everyone = BucketGroup((Bucket("everyone", float(burst * 10), rate * 10),))
        self._global = MemoryLimiter(clock)
        self._clock = clock
        self._suppressed: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}  # address -> when its bucket has a token again

    def admit(self, address: str) -> bool:
        """Record this failure from `address`? If not, it is counted for a later summary."""
        decision = self._take(address)
        if decision.allowed:
            return True
        key = address if address in self._suppressed or len(self._suppressed) < MAX_ADDRESSES else OTHERS
        self._suppressed[key] = self._suppressed.get(key, 0) + 1
        self._retry_at.setdefault(key, self._clock() + decision.retry_after)
        return False

    def next_due(self) -> float | None:
        """Seconds until the earliest summary is due; None when nothing is suppressed."""
        if not self._retry_at:
            return None
        return max(min(self._retry_at.values()) - self._clock(), 0.0)

    def due(self) -> list[Suppressed]:
        """Summaries whose address may be recorded again (each takes one of its tokens)."""
        now = self._clock()
        ready: list[Suppressed] = []
        for key, at in list(self._retry_at.items()):
            if at > now:
                continue
            if key != OTHERS:
                decision = self._take(key)
                if not decision.allowed:  # someone else took the token: try again when there is one
                    self._retry_at[key] = now + max(decision.retry_after, 1e-3)
                    continue
            del self._retry_at[key]
            ready.append(Suppressed(key, self._suppressed.pop(key)))
        return ready

    def _take(self, address: str) -> Decision:
        """A token from the address's bucket, then from everyone's (a refusal there costs the
        address its token: the bound only gets stricter)."""
        capacity, rate = self._per_address
        decision = self._limiter.acquire(BucketGroup((Bucket(address, capacity, rate),)))
        return self._global.acquire(self._everyone) if decision.allowed else decision

    def pending(self) -> list[Suppressed]:
        """Every count not yet summed up (at shutdown)."""
        self._retry_at.clear()
        out = [Suppressed(key, count) for key, count in self._suppressed.items()]
        self._suppressed.clear()
        return out


class FailureAudit:
    """Records auth failures through the throttle; a service, so counts left at shutdown are written."""

    name = "auth:failures"

    def __init__(
        self, audit: AuditRecorder, per_minute: int, burst: int, throttle: FailureThrottle | None = None
    ):
        self._audit = audit
        self._per_minute = per_minute
        self._burst = burst
        self._throttle = throttle or FailureThrottle(per_minute, burst)
        self._counting = anyio.Event()  # set when a failure was counted instead of recorded

    def record(self, address: str | None, fields: dict[str, Any]) -> None:
        """One 401: recorded, or counted towards its address's next summary."""
        if address is None or self._throttle.admit(address):
            self._audit.record("auth.failure", **fields)
            return
        self._counting.set()

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            delay = self._throttle.next_due()
            if delay is None:
                await self._counting.wait()
                self._counting = anyio.Event()
                continue
            await anyio.sleep(delay)
            for summary in self._throttle.due():
                self._summarize(summary)

    async def drain(self) -> None:
        for summary in self._throttle.pending():
            self._summarize(summary)

    def _summarize(self, summary: Suppressed) -> None:
        self._audit.record(
            "auth.failure",
            reason=(
                f"{summary.count} more authentication failures from {summary.address} were not recorded "
                f"one by one (per address: {self._burst} at once, then {self._per_minute} a minute)"
            ),
            suppressed=summary.count,
            client=summary.address,
            http_status=401,
        )
