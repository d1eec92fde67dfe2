"""A circuit breaker for one backend: closed, open after consecutive failures, half-open to probe."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from mcpctl.limits.buckets import Clock

# While the one probe of a half-open breaker is in flight, other calls are told to retry in this
# many seconds: the probe's answer (usually quick) decides what they will meet.
PROBE_BUSY_RETRY = 1.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Result(StrEnum):
    """What a finished call says about its backend."""

    SUCCESS = "success"  # the backend answered (a tool's isError or a JSON-RPC error included)
    FAILURE = "failure"  # it did not: transport failure, unavailable, timed out
    NEUTRAL = "neutral"  # nothing learned: the client cancelled, or a later hook refused the call


# The members as plain names, for the code that runs per call: on Python 3.11 reading an attribute
# of an Enum class (`Result.SUCCESS`) costs ten times what a global does (jsonrpc.REQUEST says why).
CLOSED: Final = BreakerState.CLOSED
OPEN: Final = BreakerState.OPEN
HALF_OPEN: Final = BreakerState.HALF_OPEN
SUCCESS: Final = Result.SUCCESS
FAILURE: Final = Result.FAILURE
NEUTRAL: Final = Result.NEUTRAL


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    probe: bool = False  # this call is the half-open probe: its result closes or reopens the breaker
    retry_after: float = 0.0


_PASS = Admission(True)
_PROBE = Admission(True, probe=True)


class Breaker:
    """Only the probe's result moves a half-open breaker; results of calls admitted before the
    breaker opened are stale and ignored while it is open or half-open.

    One probe at a time: a backend that is still failing sees a single call per `open_for`.
    A probe that never reports back (it should not happen) is forgotten after `probe_timeout`.
    """

    def __init__(
        self, threshold: int, open_for: float, probe_timeout: float, clock: Clock = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.open_for = open_for
        self.probe_timeout = probe_timeout
        self._clock = clock
        self._state = CLOSED
        self.failures = 0  # consecutive, while closed
        self.opens = 0  # times it opened (for metrics)
        self.refusals = 0  # calls it refused (for metrics)
        self._opened_at = 0.0
        self._probe_since: float | None = None

    @property
    def state(self) -> BreakerState:
        """The state now: an open breaker whose time is up is half-open even before a call arrives."""
        if self._state is OPEN and self._clock() >= self._opened_at + self.open_for:
            self._state = HALF_OPEN
            self._probe_since = None
        return self._state

    def retry_in(self) -> float | None:
        """Seconds until it lets a call through again; None when it does now."""
        state = self.state
        if state is OPEN:
            return max(self._opened_at + self.open_for - self._clock(), 0.0)
        if state is HALF_OPEN and self._probe_busy():
            return PROBE_BUSY_RETRY
        return None

    def admit(self) -> Admission:
        if self._state is CLOSED:  # the common case first: no clock, no allocation
            return _PASS
        if self.state is HALF_OPEN and not self._probe_busy():
            self._probe_since = self._clock()
            return _PROBE
        self.refusals += 1
        return Admission(False, retry_after=self.retry_in() or PROBE_BUSY_RETRY)

    def record(self, result: Result, *, probe: bool) -> None:
        if probe:
            self._probe_since = None
            if self._state is not HALF_OPEN:
                return  # the backend restarted meanwhile (`backend_ready`): a new probe decides
            if result is SUCCESS:
                self._close()
            elif result is FAILURE:
                self._open()
            return
        if self._state is not CLOSED or result is NEUTRAL:
            return
        if result is SUCCESS:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self._open()

    def backend_ready(self) -> None:
        """The supervisor (re)started the backend: a fresh process deserves a probe now rather than
        after the rest of `open_for`. If it keeps failing, every restart costs one probe, and the
        supervisor's crash-loop detection bounds how many restarts there are."""
        if self.state is not CLOSED:
            self._state = HALF_OPEN
            self._probe_since = None

    def _probe_busy(self) -> bool:
        since = self._probe_since
        return since is not None and self._clock() - since < self.probe_timeout

    def _open(self) -> None:
        self._state = OPEN
        self._opened_at = self._clock()
        self._probe_since = None
        self.opens += 1

    def _close(self) -> None:
        self._state = CLOSED
        self.failures = 0
