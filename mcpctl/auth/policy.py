"""Who may see and call which tools: the `[[policy]]` rules and each API key's own tool globs."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mcpctl.auth.tokens import claim_at, names_in
from mcpctl.config.access import PolicyRule
from mcpctl.router.context import Principal


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    # when only scopes stand in the way: every scope the matching rule asks for (what a client
    # steps up to; RFC 6750 `scope`)
    needed_scopes: tuple[str, ...] = ()


ALLOWED = Decision(True)
_MEMO_SIZE = 4096  # entries of Policy.decide's memo: about 1 MB at most
_MEMO_NAME_LENGTH = 128


@functools.lru_cache(maxsize=1024)
def glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled regex for several case-sensitive globs (fnmatchcase semantics)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or r"(?!)")


def key_tools(principal: Principal) -> tuple[str, ...]:
    """The tool globs an API key was created with (empty: no restriction of its own)."""
    tools = principal.claims.get("tools") if principal.kind == "api-key" else None
    return tuple(tools) if isinstance(tools, list | tuple) else ()


class _Rule:
    """A PolicyRule compiled for matching."""

    def __init__(self, index: int, rule: PolicyRule, roles_of: Callable[[Principal], frozenset[str]]) -> None:
        self.index = index
        self.rule = rule
        self.tools = glob_regex(tuple(rule.tools))
        self._roles_of = roles_of
        self._matchers = [self._principal_matcher(p) for p in rule.principals]

    def matches(self, principal: Principal, name: str) -> bool:
        return self.tools.match(name) is not None and any(m(principal) for m in self._matchers)

    def _principal_matcher(self, pattern: str) -> Callable[[Principal], bool]:
        if pattern == "*":
            return lambda p: True
        kind, _, glob = pattern.partition(":") if ":" in pattern else ("key", "", pattern)
        regex = glob_regex((glob,))
        if kind == "key":
            return lambda p: p.kind == "api-key" and regex.match(p.name) is not None
        if kind == "sub":
            return lambda p: p.kind == "oauth" and regex.match(p.name.removeprefix("sub:")) is not None
        if kind == "group":
            return lambda p: any(regex.match(g) for g in p.groups)
        if kind == "role":
            return lambda p: any(regex.match(r) for r in self._roles_of(p))
        raise ValueError(f"unknown principal pattern {pattern!r}")  # the config model refuses these first


class Policy:
    """First matching rule decides; with no rules, every authenticated principal may use every tool.

    Names are the exposed ones (prefixed tool and prompt names, resource URIs). A rule's scopes are
    required of every principal it matches; API keys carry no scopes, so a scoped rule never lets
    a key through (give keys a rule of their own, earlier in the list).
    """

    def __init__(self, rules: Sequence[PolicyRule], roles_claim: str = "roles") -> None:
        self._roles_claim = roles_claim
        self._rules = [_Rule(i, rule, self._roles_of) for i, rule in enumerate(rules, 1)]
        self.scoped = any(rule.scopes for rule in rules)
        self.open = not self._rules
        self._memo: dict[tuple[int, str], tuple[Principal, Decision]] = {}

    def scopes_supported(self) -> list[str]:
        return sorted({s for r in self._rules for s in r.rule.scopes})

    def decide(self, principal: Principal, name: str) -> Decision:
        # Every call asks, with the same few principals and names, so answers are kept: per
        # principal object (the auth layer keeps one per key and per token), which each entry holds
        # so that its id cannot be reused while the entry lives. Bounded in entries and name length
        # (a MCP name is at most 128 characters), against callers that invent names.
        key = (id(principal), name)
        found = self._memo.get(key)
        if found is not None:
            return found[1]
        decision = self._decide(principal, name)
        if len(name) <= _MEMO_NAME_LENGTH:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = (principal, decision)
        return decision

    def _decide(self, principal: Principal, name: str) -> Decision:
        globs = key_tools(principal)
        if globs and glob_regex(globs).match(name) is None:
            return Decision(False, f"API key {principal.name!r} may use only {', '.join(globs)}")
        if self.open:
            return ALLOWED
        for rule in self._rules:
            if not rule.matches(principal, name):
                continue
            if rule.rule.effect == "deny":
                return Decision(False, f"policy rule #{rule.index} denies {principal.name!r} {name!r}")
            missing = tuple(s for s in rule.rule.scopes if s not in principal.scopes)
            if missing:
                why = "API keys carry no scopes" if principal.kind == "api-key" else "the token lacks them"
                return Decision(
                    False, f"{name!r} needs scope(s) {' '.join(missing)} ({why})", tuple(rule.rule.scopes)
                )
            return ALLOWED
        return Decision(False, f"no policy rule allows {principal.name!r} {name!r}")

    def _roles_of(self, principal: Principal) -> frozenset[str]:
        if principal.kind != "oauth":
            return frozenset()
        return names_in(claim_at(principal.claims, self._roles_claim))
