"""Which rules apply to a call or request (pure logic), and how a refusal reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mcpctl.config.access import RateLimit
from mcpctl.config.models import Config
from mcpctl.limits.rules import Matches, RuleSet, human_seconds, refusal, retry_after_header
from mcpctl.protocol import codes


def rules(*specs: dict[str, object]) -> RuleSet:
    return RuleSet([RateLimit.model_validate(spec) for spec in specs])


def scopes(found: Matches) -> list[tuple[str, str]]:
    return [(m.rule.rule.scope, m.subject) for m in found.matches]


def test_each_scope_picks_its_subject_and_every_matching_rule_applies() -> None:
    ruleset = rules(
        {"scope": "principal", "requests": 10},
        {"scope": "tool", "match": "echo__*", "requests": 10},
        {"scope": "server", "match": "echo", "requests": 10},
        {"scope": "global", "requests": 10},
    )
    assert scopes(ruleset.for_call("alice", "tools/call", "echo", "echo__add")) == [
        ("principal", "alice"),
        ("tool", "echo__add"),
        ("server", "echo"),
        ("global", "*"),
    ]


def test_globs_choose_who_a_rule_applies_to() -> None:
    ruleset = rules(
        {"scope": "principal", "match": "ci-*", "requests": 1},
        {"scope": "server", "match": "db", "requests": 1},
    )
    assert scopes(ruleset.for_call("ci-bot", "tools/call", "echo", "x")) == [("principal", "ci-bot")]
    assert ruleset.for_call("alice", "tools/call", "echo", "x").matches == ()
    assert scopes(ruleset.for_call("alice", "resources/read", "db", "file:///x")) == [("server", "db")]


def test_tool_rules_apply_to_tool_calls_only() -> None:
    ruleset = rules({"scope": "tool", "requests": 1})
    assert ruleset.for_call("alice", "prompts/get", "echo", "greeting").matches == ()
    assert scopes(ruleset.for_call("alice", "tools/call", "echo", "echo__echo")) == [("tool", "echo__echo")]


def test_each_subject_gets_its_own_bucket_and_equal_rules_share_keys() -> None:
    ruleset = rules({"scope": "principal", "requests": 5, "per": "1m"})
    alice = ruleset.for_call("alice", "tools/call", "s", "t").group.buckets[0]
    bob = ruleset.for_call("bob", "tools/call", "s", "t").group.buckets[0]
    assert alice.key != bob.key
    assert alice.capacity == 5
    assert alice.rate == pytest.approx(5 / 60)
    # another instance with the same rule computes the same key (what a shared limiter needs)
    again = rules({"scope": "principal", "requests": 5, "per": "60s"}).for_call(
        "alice", "tools/call", "x", "y"
    )
    assert again.group.buckets[0].key == alice.key


def test_burst_sets_the_capacity() -> None:
    ruleset = rules({"scope": "global", "requests": 60, "per": "1m", "burst": 5})
    bucket = ruleset.for_call("a", "tools/call", "s", "t").group.buckets[0]
    assert bucket.capacity == 5
    assert bucket.rate == pytest.approx(1.0)


def test_http_rules_are_kept_apart_from_call_rules() -> None:
    ruleset = rules(
        {"scope": "principal", "match": "alice", "requests": 5, "level": "http"},
        {"scope": "global", "requests": 100, "level": "http"},
        {"scope": "global", "requests": 7},
    )
    assert scopes(ruleset.for_http("alice")) == [("principal", "alice"), ("global", "*")]
    assert scopes(ruleset.for_http("bob")) == [("global", "*")]
    assert [m.rule.rule.requests for m in ruleset.for_call("alice", "tools/call", "s", "t").matches] == [7]


def test_a_refusal_says_which_limit_and_when_to_retry() -> None:
    match = (
        rules({"scope": "tool", "match": "echo__*", "requests": 3, "per": "1h"})
        .for_call("a", "tools/call", "echo", "echo__echo")
        .matches[0]
    )
    error = refusal(match, 1199.9951)
    assert error["code"] == codes.RATE_LIMITED
    assert error["data"] == {
        "limit": {
            "scope": "tool",
            "match": "echo__*",
            "subject": "echo__echo",
            "requests": 3,
            "per": 3600.0,
            "burst": 3,
            "level": "call",
        },
        "retryAfter": 1199.9951,
    }
    assert error["message"] == "Rate limit exceeded: 3 calls per 1h for tool 'echo__echo'; retry in 1200s"


def test_waits_are_rounded_up_never_promising_too_soon() -> None:
    assert human_seconds(0.01) == "0.1s"
    assert human_seconds(2.31) == "2.4s"
    assert human_seconds(59.2) == "60s"
    assert retry_after_header(0.2) == b"1"
    assert retry_after_header(2.01) == b"3"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"scope": "tool", "requests": 1, "level": "http"}, 'use it with scope = "principal" or "global"'),
        ({"scope": "global", "requests": 1, "per": 0}, "`per` must be longer than 0"),
        ({"scope": "global", "requests": 0}, "greater than or equal to 1"),
        ({"scope": "everyone", "requests": 1}, "'principal', 'tool', 'server' or 'global'"),
    ],
)
def test_config_refuses_rules_that_cannot_work(spec: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem.replace("(", r"\(")):
        Config.model_validate({"limits": {"rules": [spec]}})
