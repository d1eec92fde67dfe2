"""Who may call what, and how often: the auth, policy and rate-limit sections of the configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mcpctl.config.fields import Duration, FrozenModel


class AuthConfig(FrozenModel):
    """Who may use the gateway: API keys, OAuth bearer tokens (as a resource server), or both."""

    mode: Literal["none", "api-key", "oauth", "both"] = "none"
    # OAuth resource server: tokens are JWTs from this issuer, checked against its JWKS
    issuer: str | None = None
    jwks_uri: str | None = None  # default: from the issuer's metadata
    # the audience tokens must carry; default: the gateway's canonical URL (public_url or its /mcp URL)
    audience: str | None = None
    # the gateway's canonical URL as clients see it (behind a proxy); default: its listening URL
    public_url: str | None = None
    # scopes every token must carry; advertised in the protected-resource metadata
    scopes: list[str] = Field(default_factory=list)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"])
    leeway: Duration = 30.0
    # claim names; a dotted path reaches into nested claims (e.g. "realm_access.roles")
    groups_claim: str = "groups"
    roles_claim: str = "roles"
    # auth.failure records per client address: this many at once, then `failure_records_per_minute`;
    # the failures beyond are counted and summed up in one record once the address may be recorded again
    failure_records_burst: int = Field(default=20, ge=1)
    failure_records_per_minute: int = Field(default=10, ge=1)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        # "none" accepts unsigned tokens; HS* would treat the issuer's public key as a shared secret
        bad = [alg for alg in value if alg.lower() == "none" or alg.upper().startswith("HS")]
        if bad:
            raise ValueError(f"algorithms {bad} are not accepted: use asymmetric ones (RS256, ES256, ...)")
        if not value:
            raise ValueError("at least one algorithm is needed")
        return value


class PolicyRule(FrozenModel):
    """One rule; rules are read in order and the first that matches a principal and tool decides."""

    # API key names (or "key:<name>"), "sub:<subject>", "group:<name>", "role:<name>", or "*" (globs allowed)
    principals: list[str] = Field(default_factory=lambda: ["*"])
    # exposed names (globs): prefixed tool and prompt names, and resource URIs
    tools: list[str] = Field(default_factory=lambda: ["*"])
    effect: Literal["allow", "deny"] = "allow"
    # OAuth scopes a token needs for these tools (API keys carry none: a scoped rule never admits a key)
    scopes: list[str] = Field(default_factory=list)

    @field_validator("principals")
    @classmethod
    def _principal_kinds(cls, value: list[str]) -> list[str]:
        for pattern in value:
            kind, colon, rest = pattern.partition(":")
            if colon and (kind not in ("key", "sub", "group", "role") or not rest):
                raise ValueError(
                    f"principal {pattern!r}: use a key name, key:<name>, sub:<subject>, group:<name>, "
                    "role:<name> or *"
                )
        return value


class RateLimit(FrozenModel):
    """A token bucket: `requests` per `per`, with bursts up to `burst` (default: `requests`).

    Each subject the rule matches gets a bucket of its own (each principal, tool or server;
    one for `global`). `level = "call"` counts forwarded calls and refuses one with a JSON-RPC
    error; `level = "http"` counts HTTP requests before they are read and refuses with 429.
    """

    scope: Literal["principal", "tool", "server", "global"]
    match: str = "*"  # glob over the principal, tool or server name
    requests: int = Field(ge=1)
    per: Duration = 60.0
    burst: int | None = Field(default=None, ge=1)
    level: Literal["call", "http"] = "call"

    @model_validator(mode="after")
    def _sensible(self) -> RateLimit:
        if self.per <= 0:
            raise ValueError("`per` must be longer than 0 (for example 1s, 1m or 1h)")
        if self.level == "http" and self.scope not in ("principal", "global"):
            raise ValueError(
                'level = "http" counts requests before they are read, when only the principal is known: '
                'use it with scope = "principal" or "global"'
            )
        return self


class LimitsConfig(FrozenModel):
    rules: list[RateLimit] = Field(default_factory=list)
    # buckets held in memory at most; full (idle) buckets are dropped first, losing nothing
    max_buckets: int = Field(default=100_000, ge=16)
