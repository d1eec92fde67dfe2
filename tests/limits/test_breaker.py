"""The circuit breaker's states (pure logic, a fake clock), and how the hook feeds it."""

from __future__ import annotations

import pytest

from mcpctl.config.access import RateLimit
from mcpctl.config.models import ServerConfig
from mcpctl.limits.breaker import Breaker, BreakerState, Result
from mcpctl.limits.buckets import MemoryLimiter
from mcpctl.limits.hooks import CallGuard, LimitStats, RateLimits
from mcpctl.limits.rules import RuleSet
from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.hooks import Refusal


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> Breaker:
    return Breaker(threshold=3, open_for=10.0, probe_timeout=60.0, clock=clock)


def fail(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        assert breaker.admit().allowed
        breaker.record(Result.FAILURE, probe=False)


def test_opens_after_consecutive_failures_only(breaker: Breaker) -> None:
    fail(breaker, 2)
    breaker.record(Result.SUCCESS, probe=False)  # an answer breaks the run
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    breaker.record(Result.NEUTRAL, probe=False)  # a cancelled call says nothing either way
    fail(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.opens == 1


def test_open_refuses_at_once_saying_when_to_retry(breaker: Breaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 4
    admission = breaker.admit()
    assert not admission.allowed
    assert admission.retry_after == pytest.approx(6.0)
    assert breaker.refusals == 1


def test_half_open_lets_one_probe_through_and_its_success_closes(breaker: Breaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    probe = breaker.admit()
    assert probe.allowed
    assert probe.probe
    other = breaker.admit()
    assert not other.allowed
    assert other.retry_after == pytest.approx(1.0)
    breaker.record(Result.SUCCESS, probe=True)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 0
    assert breaker.admit().allowed


def test_a_failed_probe_reopens_for_the_full_time(breaker: Breaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 10
    assert breaker.admit().probe
    breaker.record(Result.FAILURE, probe=True)
    assert breaker.state is BreakerState.OPEN
    assert breaker.opens == 2
    assert breaker.admit().retry_after == pytest.approx(10.0)


def test_a_neutral_probe_frees_the_slot_for_another(breaker: Breaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 10
    assert breaker.admit().probe
    breaker.record(Result.NEUTRAL, probe=True)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.admit().probe


def test_stale_results_from_before_it_opened_are_ignored(breaker: Breaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    breaker.record(Result.SUCCESS, probe=False)  # a slow call admitted earlier finally answers
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    breaker.record(Result.FAILURE, probe=False)
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_lost_probe_is_forgotten_after_its_timeout(breaker: Breaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 10
    assert breaker.admit().probe
    clock.now += 59
    assert not breaker.admit().allowed
    clock.now += 1
    assert breaker.admit().probe


def test_a_restarted_backend_gets_a_probe_at_once(breaker: Breaker) -> None:
    fail(breaker, 3)
    breaker.backend_ready()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.admit().probe


def test_a_restart_while_closed_changes_nothing(breaker: Breaker) -> None:
    fail(breaker, 2)
    breaker.backend_ready()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 2


# -- the hook: outcomes, probes by call, status ------------------------------------------------


def context() -> ClientContext:
    return ClientContext(Era.MODERN, "2026-07-28", {}, {})


def call_for(ctx: ClientContext, server: str = "s") -> Call:
    return Call(ctx, 1, "tools/call", server, "s__t")


@pytest.fixture
def hooks(clock: FakeClock) -> CallGuard:
    servers = {
        "s": ServerConfig.model_validate({"command": "x", "breaker": {"failures": 2, "open_for": "5s"}}),
        "off": ServerConfig.model_validate({"command": "x", "breaker": {"enabled": False}}),
    }
    return CallGuard(servers, clock)


def finish(hooks: CallGuard, outcome: str, ctx: ClientContext | None = None) -> None:
    ctx = ctx or context()
    assert hooks.admit(ctx, "tools/call", "s", "s__t", {}) is None
    hooks.finished(call_for(ctx), {}, outcome)


@pytest.mark.parametrize("outcome", ["ok", "tool_error", "error", "cancelled"])
def test_answers_and_cancellations_never_open_it(hooks: CallGuard, outcome: str) -> None:
    for _ in range(5):
        finish(hooks, outcome)
    assert hooks.status_fields("s")["breaker"]["state"] == "closed"


@pytest.mark.parametrize("outcome", ["unavailable", "timeout"])
def test_no_answer_opens_it(hooks: CallGuard, outcome: str) -> None:
    finish(hooks, outcome)
    finish(hooks, outcome)
    error = hooks.admit(context(), "tools/call", "s", "s__t", {})
    assert error is not None
    assert error["code"] == codes.CIRCUIT_OPEN
    assert error["data"] == {"server": "s", "retryAfter": 5.0, "state": "open"}
    assert "temporarily unavailable" in str(error["message"])
    assert hooks.status_fields("s") == {"breaker": {"state": "open", "failures": 2, "retryIn": 5.0}}


def test_only_the_probe_call_decides(hooks: CallGuard, clock: FakeClock) -> None:
    finish(hooks, "timeout")
    finish(hooks, "timeout")
    clock.now += 5
    probe_ctx = context()
    assert hooks.admit(probe_ctx, "tools/call", "s", "s__t", {}) is None
    hooks.finished(call_for(context()), {}, "ok")  # some other call's late answer: not the probe
    assert hooks.status_fields("s")["breaker"]["state"] == "half-open"
    hooks.finished(call_for(probe_ctx), {}, "ok")
    assert hooks.status_fields("s")["breaker"]["state"] == "closed"


def test_a_probe_refused_by_a_later_hook_is_handed_back(hooks: CallGuard, clock: FakeClock) -> None:
    finish(hooks, "unavailable")
    finish(hooks, "unavailable")
    clock.now += 5
    ctx = context()
    assert hooks.admit(ctx, "tools/call", "s", "s__t", {}) is None
    hooks.refused(
        Refusal(ctx, "tools/call", "s", "s__t", {}, {"code": codes.RATE_LIMITED, "message": "limited"})
    )
    assert hooks.admit(context(), "tools/call", "s", "s__t", {}) is None  # the next call may probe


def test_the_old_probe_of_a_restarted_backend_cannot_reopen_it(hooks: CallGuard, clock: FakeClock) -> None:
    finish(hooks, "unavailable")
    finish(hooks, "unavailable")
    clock.now += 5
    old = context()
    assert hooks.admit(old, "tools/call", "s", "s__t", {}) is None
    hooks.server_changed("s", True)  # the child restarted while the probe was on the old one
    hooks.finished(call_for(old), {}, "unavailable")
    assert hooks.status_fields("s")["breaker"]["state"] == "half-open"


def test_servers_without_a_breaker_are_never_refused(hooks: CallGuard) -> None:
    for _ in range(5):
        assert hooks.admit(context(), "tools/call", "off", "off__t", {}) is None
        hooks.finished(call_for(context(), "off"), {}, "timeout")
    assert hooks.status_fields("off") == {"breaker": {"state": "disabled"}}


# -- breaker and rate limits in one hook -------------------------------------------------------


def guard_with_limit(clock: FakeClock, requests: int) -> CallGuard:
    servers = {
        "s": ServerConfig.model_validate({"command": "x", "breaker": {"failures": 1, "open_for": "5s"}})
    }
    rules = RuleSet([RateLimit(scope="server", match="s", requests=requests, per=3600)])
    return CallGuard(servers, clock, RateLimits(rules, MemoryLimiter(clock), LimitStats()))


def admit(guard: CallGuard, ctx: ClientContext | None = None) -> object:
    error = guard.admit(ctx or context(), "tools/call", "s", "s__t", {})
    return None if error is None else error["code"]


def test_a_call_the_breaker_refuses_takes_no_token(clock: FakeClock) -> None:
    guard = guard_with_limit(clock, requests=2)
    ctx = context()
    assert admit(guard, ctx) is None  # token 1
    guard.finished(call_for(ctx), {}, "timeout")  # opens
    for _ in range(5):
        assert admit(guard) == codes.CIRCUIT_OPEN
    clock.now += 5
    probe = context()
    assert admit(guard, probe) is None  # token 2: the refused calls took none
    guard.finished(call_for(probe), {}, "ok")
    assert admit(guard) == codes.RATE_LIMITED


def test_a_probe_the_limit_refuses_is_handed_back(clock: FakeClock) -> None:
    guard = guard_with_limit(clock, requests=1)
    ctx = context()
    assert admit(guard, ctx) is None
    guard.finished(call_for(ctx), {}, "unavailable")  # opens; the bucket is empty now
    clock.now += 5
    assert admit(guard) == codes.RATE_LIMITED  # would have been the probe
    assert guard.status_fields("s")["breaker"]["state"] == "half-open"
    assert guard.breakers["s"].admit().probe  # the slot is free again
