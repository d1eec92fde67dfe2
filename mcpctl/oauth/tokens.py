"""Token endpoint answers (RFC 6749 §5): tokens with their absolute expiry, errors, refresh timing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mcpctl.oauth.errors import TokenEndpointError, redact
from mcpctl.oauth.scopes import split_scopes

# Refresh this long before the expiry at most; a short-lived token refreshes a quarter of its
# life early instead (a 4 s token at 1 s), so it is still used at all.
REFRESH_MARGIN = 60.0
# Errors after which a refresh token is dead for good: log in again rather than retry.
PERMANENT_REFRESH_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


@dataclass(frozen=True)
class Tokens:
    """What a token endpoint granted; the expiry is absolute (seconds since the epoch)."""

    access_token: str = field(repr=False)
    token_type: str
    refresh_token: str | None = field(repr=False)
    scopes: tuple[str, ...]  # granted (the requested ones when the server did not say)
    expires_at: float | None
    obtained_at: float

    def refresh_due(self, now: float) -> bool:
        if self.expires_at is None:
            return False  # no expiry given: use it until the server refuses it
        lifetime = max(self.expires_at - self.obtained_at, 0.0)
        return now >= self.expires_at - min(REFRESH_MARGIN, lifetime / 4)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "refresh_token": self.refresh_token,
            "scopes": list(self.scopes),
            "expires_at": self.expires_at,
            "obtained_at": self.obtained_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tokens:
        expires = data.get("expires_at")
        return cls(
            access_token=str(data["access_token"]),
            token_type=str(data.get("token_type", "Bearer")),
            refresh_token=data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None,
            scopes=tuple(str(s) for s in data.get("scopes", [])),
            expires_at=float(expires) if isinstance(expires, int | float) else None,
            obtained_at=float(data.get("obtained_at", 0.0)),
        )


def parse_token_response(
    status: int,
    body: bytes,
    *,
    now: float,
    requested_scopes: tuple[str, ...],
    previous: Tokens | None = None,
    secrets: tuple[str | None, ...] = (),
) -> Tokens:
    """Tokens from a successful answer, or TokenEndpointError (with the OAuth `error` code).

    A refresh answer may omit the refresh token (keep the old one: RFC 6749 §6) and the scope
    (unchanged). Secrets the request carried are redacted from any error text.
    """
    data = _json_object(body)
    if status != 200 or "access_token" not in data:
        raise token_error(status, data, secrets)
    access = data.get("access_token")
    token_type = data.get("token_type")
    if not isinstance(access, str) or not access:
        raise TokenEndpointError("the token endpoint answered without an access token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenEndpointError(
            f"the token endpoint issued a {token_type!r} token; mcpctl uses Bearer tokens only"
        )
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        refresh = previous.refresh_token if previous is not None else None
    granted = data.get("scope")
    if isinstance(granted, str):
        scopes = split_scopes(granted)
    elif previous is not None:
        scopes = previous.scopes
    else:
        scopes = requested_scopes
    lifetime = data.get("expires_in")
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)  # some servers send a string
    expires_at = now + float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else None
    return Tokens(access, "Bearer", refresh, scopes, expires_at, now)


def token_error(
    status: int, data: dict[str, Any], secrets: tuple[str | None, ...] = ()
) -> TokenEndpointError:
    error = data.get("error")
    code = error if isinstance(error, str) else ""
    description = data.get("error_description")
    text = f"{code}: {description}" if code and isinstance(description, str) else code or f"HTTP {status}"
    return TokenEndpointError(
        redact(f"the token endpoint refused the request ({text})", secrets)[:500], error=code
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
