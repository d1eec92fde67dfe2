"""Token buckets (pure logic, fake clock): refill, bursts, all-or-none, honest retry times, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpctl.limits.buckets import Bucket, BucketGroup, Decision, MemoryLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def take(limiter: MemoryLimiter, *buckets: Bucket) -> Decision:
    """A token from each bucket, as a group made for this one acquire (as a one-off caller does)."""
    return limiter.acquire(BucketGroup(buckets))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_full_bucket_allows_its_burst_then_refuses(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    bucket = Bucket("k", capacity=3, rate=1.0)
    assert [take(limiter, bucket).allowed for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_exactly_when_a_token_is_back(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    bucket = Bucket("k", capacity=2, rate=0.5)  # one token every 2 s
    take(limiter, bucket)
    take(limiter, bucket)
    clock.now += 0.5
    refused = take(limiter, bucket)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.5)
    clock.now += 1.499
    assert not take(limiter, bucket).allowed
    clock.now += 0.001
    assert take(limiter, bucket).allowed


def test_refill_never_exceeds_capacity(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    bucket = Bucket("k", capacity=2, rate=10.0)
    take(limiter, bucket)
    clock.now += 3600
    assert [take(limiter, bucket).allowed for _ in range(3)] == [True, True, False]


def test_all_or_none_a_refusal_takes_no_token_from_the_others(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    roomy, tight = Bucket("roomy", 2, 0.001), Bucket("tight", 1, 0.001)
    assert take(limiter, roomy, tight).allowed
    refused = take(limiter, roomy, tight)
    assert not refused.allowed
    assert refused.refused_by == 1
    # roomy still holds its second token: the refused acquire did not take it
    assert take(limiter, roomy).allowed
    assert not take(limiter, roomy).allowed


def test_the_binding_limit_is_the_one_with_the_longest_wait(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    fast, slow = Bucket("fast", 1, 10.0), Bucket("slow", 1, 0.1)
    take(limiter, fast, slow)
    refused = take(limiter, fast, slow)
    assert refused.refused_by == 1
    assert refused.retry_after == pytest.approx(10.0)


def test_buckets_are_independent_by_key(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    assert take(limiter, Bucket("alice", 1, 0.001)).allowed
    assert take(limiter, Bucket("bob", 1, 0.001)).allowed
    assert not take(limiter, Bucket("alice", 1, 0.001)).allowed


def test_refilled_buckets_are_dropped_without_changing_any_answer(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    for index in range(50):
        take(limiter, Bucket(f"idle{index}", 1, 1.0))
    assert limiter.size() == 50
    clock.now += 2  # every idle bucket is full again: it is as good as absent
    for _ in range(30):
        take(limiter, Bucket("busy", 1000, 1.0))
    assert limiter.size() < 10
    # a dropped bucket comes back full, exactly as it would have been
    assert take(limiter, Bucket("idle0", 1, 1.0)).allowed


def test_a_bucket_still_refilling_is_kept(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    take(limiter, Bucket("slow", 1, 0.001))
    for index in range(20):
        take(limiter, Bucket(f"other{index}", 5, 1.0))
    assert not take(limiter, Bucket("slow", 1, 0.001)).allowed


def test_memory_is_bounded_even_when_nothing_refills(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, max_buckets=100)
    for index in range(1000):
        take(limiter, Bucket(f"k{index}", 1, 1e-9))
    assert limiter.size() <= 100


def test_a_bucket_still_refilling_does_not_hold_up_the_others(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    take(limiter, Bucket("slow", 1, 1e-6))  # least recent, and not full for days
    for index in range(20):
        take(limiter, Bucket(f"idle{index}", 1, 1.0))
    clock.now += 2
    for _ in range(30):
        take(limiter, Bucket("busy", 1000, 1.0))
    assert limiter.size() == 2  # slow and busy
    assert not take(limiter, Bucket("slow", 1, 1e-6)).allowed


def test_a_few_buckets_are_simply_kept(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=100)
    for index in range(50):
        take(limiter, Bucket(f"idle{index}", 1, 1.0))
    clock.now += 2
    take(limiter, Bucket("busy", 5, 1.0))
    assert limiter.size() == 51


def test_a_group_taken_again_and_again_counts_as_its_buckets_do(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    shared = Bucket("shared", 3, 0.001)
    group = BucketGroup([Bucket("mine", 10, 0.001), shared])
    assert [limiter.acquire(group).allowed for _ in range(2)] == [True, True]
    # the same bucket reached by another group (the global rule, another principal's call) is one bucket
    assert take(limiter, shared).allowed
    refused = limiter.acquire(group)
    assert (refused.allowed, refused.refused_by) == (False, 1)
    assert take(limiter, Bucket("mine", 10, 0.001)).allowed  # the refusal took nothing from "mine"


def test_a_bucket_named_twice_in_a_group_gives_one_token(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    group = BucketGroup([Bucket("k", 2, 0.001), Bucket("k", 2, 0.001)])
    assert [limiter.acquire(group).allowed for _ in range(3)] == [True, True, False]


def test_a_group_whose_bucket_was_dropped_finds_it_again(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    group = BucketGroup([Bucket("slow", 2, 0.5)])  # a token every 2 s
    assert limiter.acquire(group).allowed
    clock.now += 4  # full again, so the next acquires drop it
    for index in range(5):
        take(limiter, Bucket(f"other{index}", 5, 1.0))
    assert limiter.size() == 5  # the five others, still refilling: "slow" was dropped
    # taken again through the group it was dropped from: full, as a dropped bucket is; then honest again
    assert [limiter.acquire(group).allowed for _ in range(3)] == [True, True, False]
    assert take(limiter, Bucket("slow", 2, 0.5)).allowed is False  # one bucket, whichever way it is reached


def test_a_group_still_refilling_when_dropped_past_the_cap_errs_on_allowing(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, max_buckets=2, keep=2)
    group = BucketGroup([Bucket("slow", 1, 1e-6)])
    assert limiter.acquire(group).allowed
    assert not limiter.acquire(group).allowed
    for index in range(3):
        take(limiter, Bucket(f"k{index}", 1, 1e-6))
    assert limiter.size() <= 2
    assert limiter.acquire(group).allowed  # dropped past max_buckets: it starts over, full


def test_one_group_taken_by_two_limiters_counts_in_each(clock: FakeClock) -> None:
    first, second = MemoryLimiter(clock), MemoryLimiter(clock)
    group = BucketGroup([Bucket("k", 1, 0.001)])
    assert first.acquire(group).allowed
    assert second.acquire(group).allowed
    assert not first.acquire(group).allowed
    assert not second.acquire(group).allowed


class ReferenceLimiter:
    """Token buckets as plainly as they can be written: a float per key, nothing dropped."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.full_at: dict[str, float] = {}

    def acquire(self, buckets: list[Bucket]) -> tuple[bool, int]:
        now = self.clock.now
        state = {b.key: max(self.full_at.get(b.key, now), now) for b in buckets}
        waits = [state[b.key] - now - b.tolerance - 1e-9 for b in buckets]
        if max(waits) > 0:
            return False, waits.index(max(waits))
        for key, full_at in state.items():  # a key named twice takes one token
            self.full_at[key] = full_at + next(b.interval for b in buckets if b.key == key)
        return True, -1


SHAPES = {"a": (3.0, 2.0), "b": (1.0, 0.5), "c": (5.0, 10.0), "d": (2.0, 1.0)}


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.lists(st.sampled_from(sorted(SHAPES)), min_size=1, max_size=3),
            st.sampled_from([0.0, 0.0, 0.1, 0.4, 1.3, 5.0]),
        ),
        max_size=60,
    ),
    keep=st.sampled_from([0, 1, 1024]),
)
def test_groups_taken_again_answer_as_plain_buckets_would(
    steps: list[tuple[list[str], float]], keep: int
) -> None:
    # Groups are made once and taken from again (as the rules' memo does), while buckets are
    # dropped as they fill (keep 0 and 1): every answer must still be the plain model's.
    clock = FakeClock()
    limiter, reference = MemoryLimiter(clock, keep=keep), ReferenceLimiter(clock)
    groups: dict[tuple[str, ...], BucketGroup] = {}
    for keys, pause in steps:
        clock.now += pause
        buckets = [Bucket(key, *SHAPES[key]) for key in keys]
        group = groups.setdefault(tuple(keys), BucketGroup(buckets))
        decision = limiter.acquire(group)
        assert (decision.allowed, decision.refused_by) == reference.acquire(buckets)
