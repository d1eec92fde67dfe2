"""A flood of 401s costs the audit trail a bounded number of records per client address; no count is lost."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from mcpctl.auth.throttle import OTHERS, FailureThrottle, Suppressed
from tests.auth.conftest import audit_records
from tests.auth.gateway import ping, write_config
from tests.support.host import start_host
from tests.support.waiting import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_a_trickle_per_address_and_a_summary_when_it_lets_up() -> None:
    clock = Clock()
    throttle = FailureThrottle(per_minute=6, burst=3, clock=clock)  # a token every 10 s
    assert [throttle.admit("10.0.0.1") for _ in range(5)] == [True, True, True, False, False]
    assert throttle.admit("10.0.0.2")  # another address has a bucket of its own
    assert throttle.next_due() == 10.0
    assert throttle.due() == []
    clock.now += 10
    assert throttle.due() == [Suppressed("10.0.0.1", 2)]  # the summary takes the token...
    assert not throttle.admit("10.0.0.1")  # ...so the next failure is counted towards the next one
    assert throttle.next_due() == 10.0
    clock.now += 60
    assert throttle.due() == [Suppressed("10.0.0.1", 1)]
    assert throttle.next_due() is None
    assert throttle.admit("10.0.0.1")


def test_many_addresses_are_bounded_by_the_global_bucket_and_the_table() -> None:
    clock = Clock()
    throttle = FailureThrottle(per_minute=6, burst=1, clock=clock)
    admitted = sum(throttle.admit(f"10.0.{i >> 8}.{i & 255}") for i in range(50_000))
    assert admitted == 10  # the global bucket: ten times one address's burst
    counted = {s.address: s.count for s in throttle.pending()}
    assert len(counted) <= 10_001 and counted[OTHERS] > 0
    assert sum(counted.values()) == 50_000 - admitted


def test_a_401_flood_is_summarised_in_the_audit_trail(home: Path) -> None:
    write_config(home, auth={"mode": "api-key", "failure_records_burst": 5, "failure_records_per_minute": 60})
    host = start_host(home, "--config", str(home / "config" / "mcpctl.toml"))
    trail = home / "logs" / "audit" / "audit.jsonl"
    try:
        flood = 600
        started = time.monotonic()

        def hammer(count: int) -> list[int]:
            with httpx.Client(timeout=10) as client:
                return [
                    client.get(host.url, headers={"authorization": "Bearer mcpk_nope"}).status_code
                    for _ in range(count)
                ]

        with ThreadPoolExecutor(4) as pool:
            statuses = [s for batch in pool.map(hammer, [flood // 4] * 4) for s in batch]
        took = time.monotonic() - started
        assert statuses == [401] * flood

        def accounted() -> list[dict[str, object]] | None:
            failures = [r for r in audit_records(home) if r["kind"] == "auth.failure"]
            total = sum(int(r.get("suppressed") or 1) for r in failures)  # type: ignore[call-overload]
            return failures if total == flood else None

        failures = wait_until(accounted, 10, message="every failure recorded or counted in a summary")
        summaries = [r for r in failures if r.get("suppressed")]
        assert summaries and all("were not recorded one by one" in str(r["reason"]) for r in summaries)
        assert all(r["client"] == "127.0.0.1" for r in summaries)
        # a burst of 5, a record a second while it lasted, and the summaries
        assert len(failures) <= 5 + 2 * (took + 2), (len(failures), took)
        assert trail.stat().st_size < 64 * 1024
        assert ping(host.url).status_code == 401
    finally:
        host.stop()
