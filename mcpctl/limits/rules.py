"""Which configured rate limits apply to a call or an HTTP request, and the buckets they use."""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from mcpctl.config.access import RateLimit
from mcpctl.limits.buckets import Bucket, BucketGroup
from mcpctl.protocol import codes

# The subject of a global rule: everyone shares its one bucket.
EVERYONE = "*"
# Which rules apply depends only on (principal, method, server, name), or on the principal for an
# HTTP request: each answer is kept, for this many distinct ones of each kind (then that memo
# starts over), so the hot path is a dict hit.
_MEMO_SIZE = 4096
_Key = TypeVar("_Key")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A RateLimit with its glob compiled and its bucket shape worked out."""

    rule: RateLimit
    pattern: re.Pattern[str]
    capacity: float
    rate: float
    ident: str  # names the rule by what it says, so instances sharing limits share its buckets

    @classmethod
    def of(cls, rule: RateLimit) -> CompiledRule:
        burst = rule.burst if rule.burst is not None else rule.requests
        ident = f"{rule.level}|{rule.scope}|{rule.match}|{rule.requests}/{rule.per:g}s|{burst}"
        return cls(
            rule, re.compile(fnmatch.translate(rule.match)), float(burst), rule.requests / rule.per, ident
        )

    def applies_to(self, subject: str) -> bool:
        return self.pattern.match(subject) is not None

    def bucket(self, subject: str) -> Bucket:
        return Bucket(f"{self.ident}|{subject}", self.capacity, self.rate)

    def describe(self, subject: str) -> str:
        rule = self.rule
        who = "all clients together" if rule.scope == "global" else f"{rule.scope} {subject!r}"
        unit = "requests" if rule.level == "http" else "calls"
        return f"{rule.requests} {unit} per {_duration(rule.per)} for {who}"


@dataclass(frozen=True, slots=True)
class Match:
    """One rule that applies, the subject (principal, tool, server) it applies to, and its bucket."""

    rule: CompiledRule
    subject: str
    bucket: Bucket

    @classmethod
    def of(cls, rule: CompiledRule, subject: str) -> Match:
        return cls(rule, subject, rule.bucket(subject))


@dataclass(frozen=True, slots=True)
class Matches:
    """The rules that apply to one kind of call or request, and their buckets in the same order, as
    a group (which a limiter takes from without looking them up)."""

    matches: tuple[Match, ...]
    group: BucketGroup

    @classmethod
    def of(cls, matches: list[Match]) -> Matches:
        return cls(tuple(matches), BucketGroup([m.bucket for m in matches]))


class RuleSet:
    """The configured rules, split by level; every rule that matches must allow (order does not matter)."""

    def __init__(self, rules: Sequence[RateLimit]) -> None:
        compiled = [CompiledRule.of(rule) for rule in rules]
        self._call = [r for r in compiled if r.rule.level == "call"]
        self._http = [r for r in compiled if r.rule.level == "http"]
        self._memo: dict[tuple[str, str, str, str], Matches] = {}
        self._http_memo: dict[str, Matches] = {}  # by principal

    @property
    def has_call_rules(self) -> bool:
        return bool(self._call)

    @property
    def has_http_rules(self) -> bool:
        return bool(self._http)

    def for_call(self, principal: str, method: str, server: str, name: str) -> Matches:
        """Tool rules apply to tools/call only; the other scopes to every forwarded call."""
        key = (principal, method, server, name)
        found = self._memo.get(key)
        if found is None:
            found = Matches.of(
                [
                    Match.of(rule, subject)
                    for rule in self._call
                    if (subject := _subject(rule.rule.scope, principal, method, server, name)) is not None
                    and (rule.rule.scope == "global" or rule.applies_to(subject))
                ]
            )
            _remember(self._memo, key, found)
        return found

    def for_http(self, principal: str) -> Matches:
        found = self._http_memo.get(principal)
        if found is None:
            found = Matches.of(
                [
                    Match.of(rule, EVERYONE if rule.rule.scope == "global" else principal)
                    for rule in self._http
                    if rule.rule.scope == "global" or rule.applies_to(principal)
                ]
            )
            _remember(self._http_memo, principal, found)
        return found


def _remember(memo: dict[_Key, Matches], key: _Key, found: Matches) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = found


def _subject(scope: str, principal: str, method: str, server: str, name: str) -> str | None:
    if scope == "principal":
        return principal
    if scope == "server":
        return server
    if scope == "tool":
        return name if method == "tools/call" else None
    return EVERYONE


def refusal(match: Match, retry_after: float) -> dict[str, object]:
    """The JSON-RPC error object for a call or request a limit refused."""
    rule = match.rule.rule
    limit = {
        "scope": rule.scope,
        "match": rule.match,
        "subject": match.subject,
        "requests": rule.requests,
        "per": rule.per,
        "burst": int(match.rule.capacity),
        "level": rule.level,
    }
    text = f"Rate limit exceeded: {match.rule.describe(match.subject)}; retry in {human_seconds(retry_after)}"
    return {
        "code": codes.RATE_LIMITED,
        "message": text,
        "data": {"limit": limit, "retryAfter": retry_after},
    }


def human_seconds(seconds: float) -> str:
    """A wait for a message: whole seconds from 10 up, else tenths; rounded up, never promising too soon."""
    return f"{math.ceil(seconds)}s" if seconds >= 10 else f"{math.ceil(seconds * 10) / 10:g}s"


def retry_after_header(seconds: float) -> bytes:
    """HTTP Retry-After takes whole seconds: round up, so a client that obeys it is admitted."""
    return str(max(1, math.ceil(seconds))).encode()


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
