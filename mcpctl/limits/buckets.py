"""Token buckets behind a small `Limiter` interface; the in-memory one bounds its own memory."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]

# Buckets looked at per acquire for lossless eviction (see MemoryLimiter); small and constant, so
# eviction never costs a pause.
_EVICT_PER_ACQUIRE = 2


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket to take a token from: holds up to `capacity` tokens, refilled at `rate` a second."""

    key: str
    capacity: float
    rate: float


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
    """Exact token buckets in this process.

    Memory stays bounded: every acquire looks at the two buckets least recently looked at and
    drops those that have refilled completely (a full bucket is the same as no bucket, so that
    loses nothing). Past `max_buckets` the least recent bucket goes even if it is not full,
    which errs on the side of allowing.
    """

    def __init__(self, clock: Clock = time.monotonic, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._max = max_buckets
        # key -> [tokens, updated, capacity, rate]; a list, so an update needs no new object
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def size(self) -> int:
        return len(self._buckets)

    def acquire(self, buckets: Sequence[Bucket]) -> Decision:
        now = self._clock()
        states = [self._state(bucket, now) for bucket in buckets]
        wait, worst = 0.0, -1
        for index, state in enumerate(states):
            if state[0] < 1.0:
                needed = (1.0 - state[0]) / state[3]
                if needed > wait:
                    wait, worst = needed, index
        if worst >= 0:
            self._evict(now)
            return Decision(False, math.ceil(wait * 1000) / 1000, worst)
        for state in states:
            state[0] -= 1.0
        self._evict(now)
        return ALLOWED

    def _state(self, bucket: Bucket, now: float) -> list[float]:
        state = self._buckets.get(bucket.key)
        if state is None:
            state = [float(bucket.capacity), now, float(bucket.capacity), bucket.rate]
            self._buckets[bucket.key] = state
            return state
        self._buckets.move_to_end(bucket.key)
        elapsed = now - state[1]
        if elapsed > 0:
            state[0] = min(state[2], state[0] + elapsed * state[3])
            state[1] = now
        return state

    def _evict(self, now: float) -> None:
        buckets = self._buckets
        while len(buckets) > self._max:
            buckets.popitem(last=False)
        for _ in range(_EVICT_PER_ACQUIRE):
            if not buckets:
                return
            key = next(iter(buckets))
            tokens, updated, capacity, rate = buckets[key]
            if tokens + (now - updated) * rate >= capacity:
                del buckets[key]
            else:
                # still refilling: look at it again after the others, so it cannot hold them up
                buckets.move_to_end(key)
