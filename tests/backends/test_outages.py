"""A remote's outage: the reconnect pace doubles up to its cap and stays there, however long it lasts."""

from __future__ import annotations

import random
from collections import deque

from mcpctl.config.models import ReconnectPolicy
from mcpctl.outages import count_attempt, reconnect_delay


def test_the_pace_doubles_to_the_cap_and_a_connection_that_was_up_starts_it_over() -> None:
    policy = ReconnectPolicy(initial_backoff=0.5, max_backoff=5.0)
    rng = random.Random(7)
    attempts: deque[float] = deque()
    delays = [reconnect_delay(policy, count_attempt(attempts, was_up=False), rng) for _ in range(1000)]
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0
    assert all(2.5 <= d <= 5.0 for d in delays[5:])  # an outage of any length: seconds apart, no more
    assert len(attempts) == 16  # memory does not grow with the outage
    assert count_attempt(attempts, was_up=True) == 1
