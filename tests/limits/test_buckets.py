"""Token buckets (pure logic, fake clock): refill, bursts, all-or-none, honest retry times, bounded memory."""

from __future__ import annotations

import pytest

from mcpctl.limits.buckets import Bucket, MemoryLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_full_bucket_allows_its_burst_then_refuses(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    bucket = Bucket("k", capacity=3, rate=1.0)
    assert [limiter.acquire([bucket]).allowed for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_exactly_when_a_token_is_back(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    bucket = Bucket("k", capacity=2, rate=0.5)  # one token every 2 s
    limiter.acquire([bucket])
    limiter.acquire([bucket])
    clock.now += 0.5
    refused = limiter.acquire([bucket])
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.5)
    clock.now += 1.499
    assert not limiter.acquire([bucket]).allowed
    clock.now += 0.001
    assert limiter.acquire([bucket]).allowed


def test_refill_never_exceeds_capacity(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    bucket = Bucket("k", capacity=2, rate=10.0)
    limiter.acquire([bucket])
    clock.now += 3600
    assert [limiter.acquire([bucket]).allowed for _ in range(3)] == [True, True, False]


def test_all_or_none_a_refusal_takes_no_token_from_the_others(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    roomy, tight = Bucket("roomy", 2, 0.001), Bucket("tight", 1, 0.001)
    assert limiter.acquire([roomy, tight]).allowed
    refused = limiter.acquire([roomy, tight])
    assert not refused.allowed
    assert refused.refused_by == 1
    # roomy still holds its second token: the refused acquire did not take it
    assert limiter.acquire([roomy]).allowed
    assert not limiter.acquire([roomy]).allowed


def test_the_binding_limit_is_the_one_with_the_longest_wait(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    fast, slow = Bucket("fast", 1, 10.0), Bucket("slow", 1, 0.1)
    limiter.acquire([fast, slow])
    refused = limiter.acquire([fast, slow])
    assert refused.refused_by == 1
    assert refused.retry_after == pytest.approx(10.0)


def test_buckets_are_independent_by_key(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock)
    assert limiter.acquire([Bucket("alice", 1, 0.001)]).allowed
    assert limiter.acquire([Bucket("bob", 1, 0.001)]).allowed
    assert not limiter.acquire([Bucket("alice", 1, 0.001)]).allowed


def test_refilled_buckets_are_dropped_without_changing_any_answer(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    for index in range(50):
        limiter.acquire([Bucket(f"idle{index}", 1, 1.0)])
    assert limiter.size() == 50
    clock.now += 2  # every idle bucket is full again: it is as good as absent
    for _ in range(30):
        limiter.acquire([Bucket("busy", 1000, 1.0)])
    assert limiter.size() < 10
    # a dropped bucket comes back full, exactly as it would have been
    assert limiter.acquire([Bucket("idle0", 1, 1.0)]).allowed


def test_a_bucket_still_refilling_is_kept(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    limiter.acquire([Bucket("slow", 1, 0.001)])
    for index in range(20):
        limiter.acquire([Bucket(f"other{index}", 5, 1.0)])
    assert not limiter.acquire([Bucket("slow", 1, 0.001)]).allowed


def test_memory_is_bounded_even_when_nothing_refills(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, max_buckets=100)
    for index in range(1000):
        limiter.acquire([Bucket(f"k{index}", 1, 1e-9)])
    assert limiter.size() <= 100


def test_a_bucket_still_refilling_does_not_hold_up_the_others(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=0)
    limiter.acquire([Bucket("slow", 1, 1e-6)])  # least recent, and not full for days
    for index in range(20):
        limiter.acquire([Bucket(f"idle{index}", 1, 1.0)])
    clock.now += 2
    for _ in range(30):
        limiter.acquire([Bucket("busy", 1000, 1.0)])
    assert limiter.size() == 2  # slow and busy
    assert not limiter.acquire([Bucket("slow", 1, 1e-6)]).allowed


def test_a_few_buckets_are_simply_kept(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock, keep=100)
    for index in range(50):
        limiter.acquire([Bucket(f"idle{index}", 1, 1.0)])
    clock.now += 2
    limiter.acquire([Bucket("busy", 5, 1.0)])
    assert limiter.size() == 51
