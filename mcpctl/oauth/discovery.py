"""Finding a server's authorization server: the 401 probe, RFC 9728, RFC 8414/OIDC, 2025-03-26 fallbacks."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from mcpctl.errors import UsageError
from mcpctl.mcpclient import CLIENT_INFO
from mcpctl.oauth.challenge import bearer_params
from mcpctl.oauth.errors import DiscoveryError
from mcpctl.oauth.metadata import (
    AuthServer,
    IssuerMismatch,
    ProtectedResource,
    legacy_auth_server,
    parse_auth_server,
    parse_protected_resource,
)
from mcpctl.oauth.scopes import split_scopes
from mcpctl.oauth.urls import (
    auth_server_candidates,
    canonical_resource,
    check_url,
    origin,
    protected_resource_candidates,
)
from mcpctl.protocol.eras import LATEST_MODERN, modern_meta
from mcpctl.protocol.headers import standard_headers
from mcpctl.reach import reaching

log = logging.getLogger(__name__)

PROTOCOL_HEADER = {"mcp-protocol-version": LATEST_MODERN}  # 2025-03-26 asks for it during discovery


@dataclass(frozen=True)
class Discovery:
    """Everything a sign-in needs to know before it starts."""

    url: str  # the server URL (canonical)
    resource: str  # what tokens are requested for (RFC 8707)
    auth_server: AuthServer
    protected_resource: ProtectedResource | None  # None: a 2025-03-26 server without RFC 9728
    challenged_scopes: tuple[str, ...]  # the 401's `scope`, authoritative for this operation


def probe_request() -> dict[str, Any]:
    """A harmless request every protected MCP endpoint answers 401 to (server/discover)."""
    meta = modern_meta(LATEST_MODERN, CLIENT_INFO, {})
    return {"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": meta}}


async def discover(http: httpx.AsyncClient, url: str, *, challenge: str | None = None) -> Discovery:
    """Discover, in the spec's order; `challenge` is a WWW-Authenticate already in hand (step-up)."""
    url = canonical_resource(check_url(url, "the server URL"))
    if challenge is None:
        challenge = await _probe(http, url)
    params = bearer_params(challenge or "")
    challenged = split_scopes(params.get("scope"))
    prm = await _protected_resource(http, url, params.get("resource_metadata"))
    if prm is None:
        # 2025-03-26: no RFC 9728; the authorization server is the server's origin.
        log.info("%s publishes no protected-resource metadata: using the 2025-03-26 discovery", url)
        issuer = origin(url)
        legacy = await _auth_server(http, issuer)
        if legacy is None and challenge is None:
            raise nothing_to_sign_in(url)
        return Discovery(url, url, legacy or legacy_auth_server(url), None, challenged)
    issuer = check_url(prm.authorization_servers[0], "the authorization server")
    server = await _auth_server(http, issuer)
    if server is None:
        raise DiscoveryError(
            f"the authorization server {issuer} publishes no metadata (tried RFC 8414 and OpenID discovery)"
        )
    return Discovery(url, prm.resource, server, prm, challenged)


async def _probe(http: httpx.AsyncClient, url: str) -> str | None:
    """POST without credentials; the 401's WWW-Authenticate (or None when the server let it through)."""
    body = probe_request()
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        **standard_headers(body),
    }
    with reaching(url):
        response = await http.post(url, content=json.dumps(body), headers=headers)
    if response.status_code in (401, 403):
        return str(response.headers.get("www-authenticate", ""))
    return None


async def _protected_resource(
    http: httpx.AsyncClient, url: str, advertised: str | None
) -> ProtectedResource | None:
    """The header's resource_metadata when present, else the well-known URLs (RFC 9728 §3.1)."""
    if advertised:
        check_url(advertised, "resource_metadata")
        doc = await _get_json(http, advertised)
        if doc is None:
            raise DiscoveryError(f"the resource metadata the server points at ({advertised}) cannot be read")
        return parse_protected_resource(doc, url, advertised)
    for candidate in protected_resource_candidates(url):
        doc = await _get_json(http, candidate)
        if doc is not None:
            return parse_protected_resource(doc, url, candidate)
    return None


async def _auth_server(http: httpx.AsyncClient, issuer: str) -> AuthServer | None:
    """The first metadata document that passes the checks; a wrong issuer is never used."""
    mismatch: IssuerMismatch | None = None
    for candidate, kind in auth_server_candidates(issuer):
        doc = await _get_json(http, candidate)
        if doc is None:
            continue
        try:
            return parse_auth_server(doc, issuer, kind, candidate)
        except IssuerMismatch as exc:  # other failures (no S256) mean: found, and refused
            mismatch = exc
    if mismatch is not None:
        raise mismatch
    return None


async def _get_json(http: httpx.AsyncClient, url: str) -> object | None:
    """A JSON document, or None for a 4xx/5xx or a body that is not JSON (then try the next URL)."""
    with reaching(url):
        response = await http.get(url, headers={"accept": "application/json", **PROTOCOL_HEADER})
    if response.status_code != 200:
        return None
    try:
        document: object = json.loads(response.content)
    except ValueError:
        return None
    return document


def nothing_to_sign_in(url: str) -> UsageError:
    return UsageError(f"{url} does not ask for OAuth sign-in", hint="it may need no login at all")
