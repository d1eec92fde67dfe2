"""Policy decisions: first matching rule, principal kinds, key globs, scopes (pure logic)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mcpctl.auth.policy import Policy
from mcpctl.config.access import AuthConfig, PolicyRule
from mcpctl.router.context import ANONYMOUS, Principal


def key(name: str, *tools: str) -> Principal:
    return Principal(name, "api-key", claims={"key_id": "0" * 12, "tools": tools})


def token(
    sub: str, scopes: str = "", groups: tuple[str, ...] = (), roles: list[str] | None = None
) -> Principal:
    claims = {"sub": sub, "realm_access": {"roles": roles or []}}
    return Principal(f"sub:{sub}", "oauth", frozenset(scopes.split()), frozenset(groups), claims)


def rules(*specs: dict[str, object]) -> list[PolicyRule]:
    return [PolicyRule.model_validate(spec) for spec in specs]


def test_no_rules_allows_everything_but_a_keys_own_globs() -> None:
    policy = Policy([])
    assert policy.decide(ANONYMOUS, "anything").allowed
    assert policy.decide(token("alice"), "github__delete").allowed
    restricted = key("analytics", "github__search_*", "time__*")
    assert policy.decide(restricted, "github__search_code").allowed
    assert policy.decide(restricted, "time__now").allowed
    refused = policy.decide(restricted, "github__delete_repo")
    assert not refused.allowed
    assert refused.reason == "API key 'analytics' may use only github__search_*, time__*"


def test_first_matching_rule_decides_and_nothing_matching_is_denied() -> None:
    policy = Policy(
        rules(
            {"principals": ["*"], "tools": ["github__delete_*"], "effect": "deny"},
            {"principals": ["ci", "key:bot-*"], "tools": ["github__*"]},
            {"principals": ["sub:alice"], "tools": ["*"]},
        )
    )
    assert not policy.decide(key("ci"), "github__delete_repo").allowed  # the deny comes first
    assert policy.decide(key("ci"), "github__search").allowed
    assert policy.decide(key("bot-7"), "github__search").allowed
    assert policy.decide(token("alice"), "time__now").allowed
    assert not policy.decide(token("ci"), "github__search").allowed  # a subject is not a key name
    outcome = policy.decide(key("other"), "github__search")
    assert not outcome.allowed
    assert outcome.reason == "no policy rule allows 'other' 'github__search'"
    assert not policy.decide(ANONYMOUS, "time__now").allowed


def test_groups_roles_and_scopes() -> None:
    policy = Policy(
        rules(
            {"principals": ["group:eng"], "tools": ["files__*"], "scopes": ["files:write"]},
            {"principals": ["role:admin"], "tools": ["*"]},
        ),
        roles_claim="realm_access.roles",  # a nested claim, as Keycloak writes it
    )
    stepped_up = token("bob", "mcp:tools files:write", groups=("eng",))
    assert policy.decide(stepped_up, "files__write").allowed
    needs_more = policy.decide(token("bob", "mcp:tools", groups=("eng",)), "files__write")
    assert not needs_more.allowed
    assert needs_more.needed_scopes == ("files:write",)
    assert policy.decide(token("root", roles=["admin"]), "files__write").allowed
    keyed = policy.decide(key("eng"), "files__write")
    assert not keyed.allowed  # a key named like a group is not in it
    assert policy.scoped
    assert policy.scopes_supported() == ["files:write"]


def test_a_scoped_rule_never_admits_an_api_key() -> None:
    policy = Policy(rules({"principals": ["*"], "tools": ["*"], "scopes": ["mcp:tools"]}))
    outcome = policy.decide(key("ci"), "time__now")
    assert not outcome.allowed
    assert "API keys carry no scopes" in outcome.reason


def test_globs_are_case_sensitive_and_whole_name() -> None:
    policy = Policy(rules({"principals": ["*"], "tools": ["git?ub__search"]}))
    assert policy.decide(ANONYMOUS, "github__search").allowed
    assert not policy.decide(ANONYMOUS, "GitHub__search").allowed
    assert not policy.decide(ANONYMOUS, "github__search_more").allowed


def test_config_refuses_unknown_principal_kinds_and_weak_algorithms() -> None:
    with pytest.raises(ValidationError, match="principal 'team:x'"):
        PolicyRule(principals=["team:x"])
    with pytest.raises(ValidationError, match="not accepted"):
        AuthConfig(algorithms=["RS256", "HS256"])
    with pytest.raises(ValidationError, match="not accepted"):
        AuthConfig(algorithms=["none"])


def test_answers_are_per_principal_even_for_equal_looking_ones() -> None:
    # Principals compare by name and kind, not by a key's own globs: a second key of the same
    # name must not get the first one's answer.
    policy = Policy([])
    wide, narrow = key("svc", "*"), key("svc", "time__*")
    assert wide == narrow
    for _ in range(2):  # asked again, the same answers
        assert policy.decide(wide, "github__delete").allowed
        assert not policy.decide(narrow, "github__delete").allowed
    long_name = "x" * 300  # not kept, still answered
    assert policy.decide(wide, long_name).allowed
    assert not policy.decide(narrow, long_name).allowed
