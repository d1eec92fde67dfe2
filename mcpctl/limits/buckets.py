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


class BucketGroup:
    """Buckets taken from together, again and again: the answer a rule set keeps for one kind of
    call. The limiter that takes from it keeps its counters here, so a take looks up no key."""

    __slots__ = ("_entries", "_owner", "buckets")

    def __init__(self, buckets: Sequence[Bucket]) -> None:
        self.buckets = tuple(buckets)
        # (counter, tolerance with its rounding slack, interval) per distinct key; set by the owner
        self._entries: tuple[tuple[_Counter, float, float], ...] = ()
        self._owner: object = None


class Limiter(Protocol):
    """Takes one token from each of a group's buckets, all or none.

    It is called on the event loop for every call, so it must not block. A limiter shared
    between instances (Redis, a later issue) keeps this synchronous shape by leasing small
    batches of tokens from the shared store in the background (one Lua script per lease) and
    answering from the lease; the all-or-none rule then holds per lease.
    """

    def acquire(self, group: BucketGroup) -> Decision: ...

    def size(self) -> int:
        """Buckets held (for metrics)."""
        ...


class _Counter:
    """One bucket's state, as GCRA keeps it: when the bucket is full again."""

    __slots__ = ("full_at",)

    def __init__(self) -> None:
        self.full_at = -math.inf  # full long ago: the same as no bucket


# What a counter the limiter dropped reads: never full, so a group still holding it takes the
# slow way, which notices and looks its buckets up again. (No live bucket is full at infinity.)
_DROPPED = math.inf


class MemoryLimiter:
    """Exact token buckets in this process, kept as GCRA does (one number per bucket).

    A bucket is its "theoretical arrival time": when it will be full again. A call is admitted
    if that is at most `tolerance` ahead of now, and moves it `interval` further; this is a
    token bucket of `capacity` refilled at `rate`, with one float to read and write.

    Each bucket's number lives in a counter object, found by the bucket's key; a BucketGroup
    keeps the counters of its buckets, so taking from it again looks up nothing. A key names one
    bucket: the same capacity and rate wherever it appears (a rule's key says both).

    Memory stays bounded: once there are more than `keep` buckets, every acquire looks at the two
    buckets it has looked at least recently and drops those that are full again (a full bucket
    is the same as no bucket, so that loses nothing). Past `max_buckets` that bucket goes even if
    it is not full, which errs on the side of allowing. A dropped counter reads as never full, so
    a group still holding it looks its buckets up again on its next take.
    """

    def __init__(self, clock: Clock = time.monotonic, max_buckets: int = 100_000, keep: int = 1024) -> None:
        self._clock = clock
        self._max = max_buckets
        self._keep = min(keep, max_buckets)  # a few buckets cost nothing: no need to look for idle ones
        # key -> its counter; in the order eviction last looked at them (a plain dict: cheaper on
        # the hot path than an OrderedDict, and re-inserting moves a key last)
        self._counters: dict[str, _Counter] = {}

    def size(self) -> int:
        return len(self._counters)

    def acquire(self, group: BucketGroup) -> Decision:
        if group._owner is not self:
            self._resolve(group)
        now = self._clock()
        # One pass that takes as it goes (a second pass per bucket costs as much as the first):
        # all or none is kept by handing the tokens taken back when a later bucket refuses.
        for counter, tolerance, interval in group._entries:
            full_at = counter.full_at
            if full_at < now:
                full_at = now
            elif full_at - now > tolerance:
                return self._refuse(group, counter, now)
            counter.full_at = full_at + interval
        if len(self._counters) > self._keep:
            self._evict(now)
        return ALLOWED

    def _resolve(self, group: BucketGroup) -> None:
        """Find (or make) the counter of each of the group's buckets; each key once."""
        counters = self._counters
        entries: dict[str, tuple[_Counter, float, float]] = {}
        for bucket in group.buckets:
            counter = counters.get(bucket.key)
            if counter is None:
                counter = counters[bucket.key] = _Counter()
            entries.setdefault(bucket.key, (counter, bucket.tolerance + _ROUNDING, bucket.interval))
        group._entries = tuple(entries.values())
        group._owner = self

    def _refuse(self, group: BucketGroup, refusing: _Counter, now: float) -> Decision:
        """`refusing` has no token: give back what the buckets before it gave, then say who binds."""
        for counter, _, interval in group._entries:
            if counter is refusing:
                break
            # (one it was full before reads `now` rather than its older time: the same, a full bucket)
            counter.full_at -= interval
        if any(counter.full_at == _DROPPED for counter, _, _ in group._entries):
            # (the one that refused, or one after it that was never reached)
            self._resolve(group)  # fresh counters are never dropped: this recurses at most once
            return self.acquire(group)
        counters = self._counters
        waits = [max(counters[b.key].full_at - b.tolerance - now - _ROUNDING, 0.0) for b in group.buckets]
        wait = max(waits)
        if len(counters) > self._keep:
            self._evict(now)
        return Decision(False, math.ceil(wait * 1000) / 1000, waits.index(wait))

    def _evict(self, now: float) -> None:
        counters = self._counters
        while len(counters) > self._max:
            counters.pop(next(iter(counters))).full_at = _DROPPED
        for _ in range(_EVICT_PER_ACQUIRE):
            if not counters:
                return
            key = next(iter(counters))
            counter = counters.pop(key)
            if counter.full_at > now:
                # still refilling: look at it again after the others, so it cannot hold them up
                counters[key] = counter
            else:
                counter.full_at = _DROPPED
