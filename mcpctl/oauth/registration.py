"""Who mcpctl is to an authorization server: pre-registered, a metadata document, or registered (RFC 7591)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from mcpctl import __version__
from mcpctl.errors import UsageError
from mcpctl.oauth.errors import OAuthError, redact
from mcpctl.oauth.metadata import AuthServer

CLIENT_NAME = "mcpctl"
AuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]
Kind = Literal["preregistered", "metadata-document", "dynamic"]
_METHODS: tuple[AuthMethod, ...] = ("none", "client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class ClientRegistration:
    """A client identity at one authorization server (identified by its issuer)."""

    issuer: str
    client_id: str
    kind: Kind
    auth_method: AuthMethod = "none"
    client_secret: str | None = field(default=None, repr=False)
    redirect_uris: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "kind": self.kind,
            "auth_method": self.auth_method,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientRegistration:
        method = data.get("auth_method")
        kind = data.get("kind")
        secret = data.get("client_secret")
        return cls(
            issuer=str(data["issuer"]),
            client_id=str(data["client_id"]),
            kind=kind if kind in ("preregistered", "metadata-document", "dynamic") else "dynamic",
            auth_method=method if method in _METHODS else "none",
            client_secret=secret if isinstance(secret, str) else None,
            redirect_uris=tuple(str(u) for u in data.get("redirect_uris", [])),
        )


def preregistered(issuer: str, client_id: str, secret: str | None, server: AuthServer) -> ClientRegistration:
    """A client the person registered themselves (--client-id, --client-secret)."""
    return ClientRegistration(issuer, client_id, "preregistered", choose_auth_method(server, secret), secret)


def metadata_document(issuer: str, url: str) -> ClientRegistration:
    """A Client ID Metadata Document: the HTTPS URL of the document is the client id."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path in ("", "/") or parts.fragment:
        raise UsageError(
            f"--client-metadata-url {url!r} must be an https URL with a path (the document's own address)"
        )
    return ClientRegistration(issuer, url, "metadata-document")


def choose_auth_method(server: AuthServer, secret: str | None) -> AuthMethod:
    """How to authenticate at the token endpoint: none for a public client; with a secret, Basic
    (RFC 6749's default) unless the server only offers client_secret_post."""
    if not secret:
        return "none"
    offered = server.token_endpoint_auth_methods
    if offered is not None and "client_secret_basic" not in offered and "client_secret_post" in offered:
        return "client_secret_post"
    return "client_secret_basic"


def registration_request(redirect_uri: str, server: AuthServer) -> dict[str, Any]:
    """RFC 7591 metadata: a native public client (a secret only if the server insists)."""
    offered = server.token_endpoint_auth_methods
    method: AuthMethod = "none"
    if offered is not None and "none" not in offered:
        method = "client_secret_basic" if "client_secret_basic" in offered else "client_secret_post"
    return {
        "client_name": CLIENT_NAME,
        "software_id": "mcpctl",
        "software_version": __version__,
        "application_type": "native",  # a CLI on loopback; "web" would break loopback redirects
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    }


def parse_registration(
    status: int, body: bytes, server: AuthServer, request: dict[str, Any]
) -> ClientRegistration:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    client_id = data.get("client_id")
    if status not in (200, 201) or not isinstance(client_id, str) or not client_id:
        error = data.get("error") or f"HTTP {status}"
        description = data.get("error_description")
        detail = f"{error}: {description}" if isinstance(description, str) else str(error)
        raise OAuthError(
            f"{server.issuer} refused to register mcpctl as a client ({detail[:300]})",
            hint="register a client there yourself and pass --client-id (and --client-secret)",
        )
    secret = data.get("client_secret")
    secret = secret if isinstance(secret, str) and secret else None
    answered = data.get("token_endpoint_auth_method")
    method: AuthMethod = choose_auth_method(server, secret)
    for known in _METHODS:
        if answered == known:
            method = known  # what the server registered wins over what mcpctl would pick
    if not secret:
        method = "none"
    uris = data.get("redirect_uris")
    return ClientRegistration(
        issuer=server.issuer,
        client_id=client_id,
        kind="dynamic",
        auth_method=method,
        client_secret=secret,
        redirect_uris=tuple(u for u in uris if isinstance(u, str)) if isinstance(uris, list) else (),
    )


def client_authentication(client: ClientRegistration) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, form fields) that authenticate `client` at the token endpoint (RFC 6749 §2.3)."""
    secret = client.client_secret
    if client.auth_method == "client_secret_basic" and secret:
        # each part form-urlencoded before base64 (RFC 6749 §2.3.1)
        pair = f"{quote(client.client_id, safe='')}:{quote(secret, safe='')}"
        return {"authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}, {}
    if client.auth_method == "client_secret_post" and secret:
        return {}, {"client_id": client.client_id, "client_secret": secret}
    return {}, {"client_id": client.client_id}


def describe(client: ClientRegistration) -> str:
    """For messages: the kind and id, never the secret."""
    return redact(f"{client.kind} client {client.client_id}", (client.client_secret,))
