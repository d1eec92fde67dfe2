"""A remote server's outage as the supervisor treats it: reconnect at a capped pace, never a crash loop.

A stdio child that keeps dying is broken, and its restarts are bounded (crash loop). A remote that
cannot be reached is away: it comes back on its own, and mcpctl should follow within seconds.
"""

from __future__ import annotations

import random
import time
from collections import deque

from mcpctl.config.models import ReconnectPolicy

# Attempts remembered in a row: only their count matters, and past this the cap does.
_KEPT = 16


def count_attempt(attempts: deque[float], *, was_up: bool) -> int:
    """Record one more attempt (a connection that was up starts the count over); how many in a row."""
    if was_up:
        attempts.clear()
    attempts.append(time.monotonic())
    while len(attempts) > _KEPT:
        attempts.popleft()
    return len(attempts)


def reconnect_delay(policy: ReconnectPolicy, attempts: int, rng: random.Random) -> float:
    """Seconds before the next try: doubling from initial_backoff up to max_backoff, jittered so that
    the remotes of one host do not all come back in step."""
    delay = min(policy.max_backoff, policy.initial_backoff * 2 ** (attempts - 1))
    return rng.uniform(delay / 2, delay)
