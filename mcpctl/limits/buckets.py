"""Token buckets behind a small `Limiter` interface; the in-memory one bounds its own memory."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

Clock = Callable[[], float]

# Buckets looked at per acquire for lossless eviction (see MemoryLimiter); small and constant, so
# eviction never costs a pause.
_EVICT_PER_ACQUIRE = 2
# Float times: `now + interval - now` may come out a hair above `interval`; a nanosecond of slack.
_ROUNDING = 1e-9


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket to take a token from: holds up to `capacity` tokens, refilled at `rate` a second."""

    key: str
    capacity: float
    rate: float
    # the same, as GCRA sees it: one token every `interval` seconds, `tolerance` seconds of burst
    interval: float = field(init=False, repr=False, compare=False)
    tolerance: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", 1.0 / self.rate)
        object.__setattr__(self, "tolerance", (self.capacity - 1.0) / self.rate)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one acquire.

    `retry_after` is how many seconds from now until every bucket that refused holds a token
    again (0 when allowed); `refused_by` is the index of the bucket with the longest wait, the
    limit that binds (-1 when allowed).
    """

    allowed: bool
    retry_after: float = 0.0
    refused_by: int = -1


ALLOWED = Decision(True)


class Limiter(Protocol):
    """Takes one token from each of `buckets`, all or none.

    It is called on the event loop for every call, so it must not block. A limiter shared
    between instances (Redis, a later issue) keeps this synchronous shape by leasing small
    batches of tokens from the shared store in the background (one Lua script per lease) and
    answering from the lease; the all-or-none rule then holds per lease.
    """

    def acquire(self, buckets: Sequence[Bucket]) -> Decision: ...

    def size(self) -> int:
        """Buckets held (for metrics)."""
        ...


class MemoryLimiter:
    """Exact token buckets in this process, kept as GCRA does (one number per bucket).

    A bucket is its "theoretical arrival time": when it will be full again. A call is admitted
    if that is at most `tolerance` ahead of now, and moves it `interval` further; this is a
    token bucket of `capacity` refilled at `rate`, with one float to read and write.

    Memory stays bounded: once there are more than `keep` buckets, every acquire looks at the two
    buckets it has looked at least recently and drops those that are full again (a full bucket
    is the same as no bucket, so that loses nothing). Past `max_buckets` that bucket goes even if
    it is not full, which errs on the side of allowing.
    """

    def __init__(self, clock: Clock = time.monotonic, max_buckets: int = 100_000, keep: int = 1024) -> None:
        self._clock = clock
        self._max = max_buckets
        self._keep = min(keep, max_buckets)  # a few buckets cost nothing: no need to look for idle ones
        # key -> when the bucket is full again; in the order eviction last looked at them (a plain
        # dict: cheaper on the hot path than an OrderedDict, and re-inserting moves a key last)
        self._full_at: dict[str, float] = {}

    def size(self) -> int:
        return len(self._full_at)

    def acquire(self, buckets: Sequence[Bucket]) -> Decision:
        now = self._clock()
        table = self._full_at
        later = []
        for bucket in buckets:
            full_at = table.get(bucket.key, now)
            if full_at < now:  # noqa: PLR1730 (a comparison costs less than calling max on the hot path)
                full_at = now
            if full_at - now > bucket.tolerance + _ROUNDING:
                return self._refuse(buckets, now)
            later.append((bucket.key, full_at + bucket.interval))
        for key, full_at in later:  # all or none: written only once every bucket has said yes
            table[key] = full_at
        if len(table) > self._keep:
            self._evict(now)
        return ALLOWED

    def _refuse(self, buckets: Sequence[Bucket], now: float) -> Decision:
        waits = [max(self._full_at.get(b.key, now) - b.tolerance - now - _ROUNDING, 0.0) for b in buckets]
        wait = max(waits)
        if len(self._full_at) > self._keep:
            self._evict(now)
        return Decision(False, math.ceil(wait * 1000) / 1000, waits.index(wait))

    def _evict(self, now: float) -> None:
        table = self._full_at
        while len(table) > self._max:
            del table[next(iter(table))]
        for _ in range(_EVICT_PER_ACQUIRE):
            if not table:
                return
            key = next(iter(table))
            full_at = table.pop(key)
            if full_at > now:
                # still refilling: look at it again after the others, so it cannot hold them up
                table[key] = full_at
