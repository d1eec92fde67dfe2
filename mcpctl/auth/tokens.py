"""OAuth access tokens as a resource server: a JWT from the configured issuer, for this gateway."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from mcpctl.auth.jwks import IssuerUnavailable, JwksCache, same_issuer
from mcpctl.config.access import AuthConfig
from mcpctl.router.context import Principal

CACHE_SIZE = 4096  # validated tokens remembered, so a client's repeat requests skip the signature check


@dataclass(frozen=True)
class TokenRejected:
    """Why a token was refused; `status` 401 (invalid_token) or 403 (insufficient_scope)."""

    reason: str
    status: int = 401
    needed: tuple[str, ...] = ()
    subject: str | None = None


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by dotted path into nested objects (Keycloak's realm_access.roles)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def names_in(value: Any) -> frozenset[str]:
    """A claim holding names: a list of strings, or one space-separated string."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """`scope` (RFC 9068, a space-separated string) or `scp` (a list, some providers)."""
    return names_in(claims.get("scope")) | names_in(claims.get("scp"))


class TokenValidator:
    """Checks signature, issuer, audience, expiry and the scopes every token needs."""

    def __init__(
        self,
        config: AuthConfig,
        issuer: str,
        keys: JwksCache,
        clock: Callable[[], float] = time.time,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._config = config
        self._issuer = issuer
        self._keys = keys
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Principal, float, frozenset[str]]] = OrderedDict()
        self._cache_size = cache_size

    def cached(self, token: str, audiences: frozenset[str]) -> Principal | TokenRejected | None:
        """The outcome for a token validated before (expiry and audience checked again), or None."""
        entry = self._cache.get(token)
        if entry is None:
            return None
        principal, expires, audience = entry
        if self._clock() < expires + self._config.leeway and audience == audiences:
            return self._scoped(principal)
        del self._cache[token]
        return None

    async def validate(self, token: str, audiences: frozenset[str]) -> Principal | TokenRejected:
        known = self.cached(token, audiences)
        if known is not None:
            return known
        now = self._clock()
        outcome = await self._check(token, audiences, now)
        if isinstance(outcome, TokenRejected):
            return outcome
        principal, expires = outcome
        self._cache[token] = (principal, expires, audiences)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return self._scoped(principal)

    def _scoped(self, principal: Principal) -> Principal | TokenRejected:
        needed = tuple(s for s in self._config.scopes if s not in principal.scopes)
        if needed:
            return TokenRejected("insufficient scope", 403, tuple(self._config.scopes), principal.name)
        return principal

    async def _check(
        self, token: str, audiences: frozenset[str], now: float
    ) -> tuple[Principal, float] | TokenRejected:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return TokenRejected("malformed token")
        alg = header.get("alg")
        if alg not in self._config.algorithms:
            return TokenRejected(f"signing algorithm {alg!r} not accepted")
        kid = header.get("kid")
        try:
            key = await self._keys.key(kid if isinstance(kid, str) else None)
        except IssuerUnavailable:
            return TokenRejected("cannot check tokens: the issuer's keys are unavailable")
        if key is None:
            return TokenRejected("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                # PyJWT checks the signature; the claims are checked below, against our own clock
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidTokenError:
            return TokenRejected("bad signature")
        return self._claims(claims, audiences, now)

    def _claims(
        self, claims: dict[str, Any], audiences: frozenset[str], now: float
    ) -> tuple[Principal, float] | TokenRejected:
        if not same_issuer(str(claims.get("iss", "")), self._issuer):
            return TokenRejected("wrong issuer")
        if not _audience_ok(claims.get("aud"), audiences):
            return TokenRejected("wrong audience (the token was issued for another resource)")
        expires = claims.get("exp")
        if not isinstance(expires, int | float):
            return TokenRejected("token has no expiry")
        too_early_or_late = _lifetime_problem(expires, claims.get("nbf"), now, self._config.leeway)
        if too_early_or_late is not None:
            return TokenRejected(too_early_or_late)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            return TokenRejected("token has no subject")
        principal = Principal(
            name=f"sub:{subject}",
            kind="oauth",
            scopes=scopes_of(claims),
            groups=names_in(claim_at(claims, self._config.groups_claim)),
            claims=claims,
        )
        return principal, float(expires)


def _lifetime_problem(expires: float, not_before: Any, now: float, leeway: float) -> str | None:
    if now >= expires + leeway:
        return "token expired"
    if isinstance(not_before, int | float) and now < not_before - leeway:
        return "token not yet valid"
    return None


def _audience_ok(aud: Any, audiences: Iterable[str]) -> bool:
    presented = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    wanted = {a.rstrip("/") for a in audiences}
    return any(isinstance(a, str) and a.rstrip("/") in wanted for a in presented)
