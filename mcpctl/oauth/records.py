"""What a login leaves behind: a secret record in the store, and a summary (no secrets) in an index."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcpctl.oauth.registration import ClientRegistration
from mcpctl.oauth.tokens import Tokens

VERSION = 1


def token_user(issuer: str, resource: str) -> str:
    """The store's key for a login: by authorization server and resource (a URL may move between them)."""
    return f"oauth:{issuer}|{resource}"


def client_user(issuer: str) -> str:
    """The store's key for mcpctl's client registration at an authorization server."""
    return f"oauthclient:{issuer}"


@dataclass(frozen=True)
class Login:
    """One signed-in server: its tokens and everything needed to refresh them without discovery."""

    url: str  # as the person typed it (canonical form)
    resource: str  # the RFC 8707 resource the tokens are for
    issuer: str
    token_endpoint: str
    client: ClientRegistration  # the client the tokens were issued to (refresh needs it)
    tokens: Tokens
    requested_scopes: tuple[str, ...]
    revocation_endpoint: str | None = None

    @property
    def user(self) -> str:
        return token_user(self.issuer, self.resource)

    def secret_json(self) -> str:
        return json.dumps(
            {
                "v": VERSION,
                "url": self.url,
                "resource": self.resource,
                "issuer": self.issuer,
                "token_endpoint": self.token_endpoint,
                "revocation_endpoint": self.revocation_endpoint,
                "client": self.client.to_json(),
                "tokens": self.tokens.to_json(),
                "requested_scopes": list(self.requested_scopes),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_secret_json(cls, text: str) -> Login | None:
        """None for a record this version cannot read (treated as no login)."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != VERSION:
                return None
            revocation = data.get("revocation_endpoint")
            return cls(
                url=str(data["url"]),
                resource=str(data["resource"]),
                issuer=str(data["issuer"]),
                token_endpoint=str(data["token_endpoint"]),
                client=ClientRegistration.from_json(data["client"]),
                tokens=Tokens.from_json(data["tokens"]),
                requested_scopes=tuple(str(s) for s in data.get("requested_scopes", [])),
                revocation_endpoint=revocation if isinstance(revocation, str) else None,
            )
        except (ValueError, KeyError, TypeError):
            return None

    def summary(self) -> dict[str, Any]:
        """The index entry and what `mcpctl auth status` shows: never a token or a secret."""
        return {
            "url": self.url,
            "resource": self.resource,
            "issuer": self.issuer,
            "scopes": list(self.tokens.scopes),
            "expiresAt": self.tokens.expires_at,
            "obtainedAt": self.tokens.obtained_at,
            "refreshable": self.tokens.refresh_token is not None,
            "clientId": self.client.client_id,
            "clientKind": self.client.kind,
        }


def registration_json(client: ClientRegistration) -> str:
    return json.dumps({"v": VERSION, **client.to_json()}, separators=(",", ":"))


def registration_from_json(text: str) -> ClientRegistration | None:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            return None
        return ClientRegistration.from_json(data)
    except (ValueError, KeyError, TypeError):
        return None
