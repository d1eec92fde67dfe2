"""Protected-resource (RFC 9728) and authorization-server (RFC 8414 / OIDC) metadata, validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcpctl.oauth.errors import DiscoveryError
from mcpctl.oauth.urls import (
    MetadataKind,
    canonical_resource,
    check_url,
    legacy_endpoints,
    origin,
    resource_covers,
)

S256 = "S256"


class IssuerMismatch(DiscoveryError):
    """A metadata document for another issuer than the one its URL was built from."""


@dataclass(frozen=True)
class ProtectedResource:
    """What the MCP server says about itself: its resource identifier and authorization servers."""

    resource: str
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...] | None
    url: str  # where the document was fetched


@dataclass(frozen=True)
class AuthServer:
    """The parts of an authorization server's metadata mcpctl uses, after the checks."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    scopes_supported: tuple[str, ...] | None = None
    token_endpoint_auth_methods: tuple[str, ...] | None = None
    iss_parameter_supported: bool = False
    client_id_metadata_documents: bool = False
    kind: MetadataKind = "rfc8414"


def parse_protected_resource(doc: object, server_url: str, fetched_from: str) -> ProtectedResource:
    """Validate a protected-resource document for `server_url` (RFC 9728 §3.3: the resource must be
    the server's, or a token for another resource could be obtained and sent here)."""
    if not isinstance(doc, dict):
        raise DiscoveryError(f"{fetched_from} is not a JSON object")
    resource = doc.get("resource")
    if not isinstance(resource, str) or not resource:
        raise DiscoveryError(f"{fetched_from} names no `resource`")
    if not resource_covers(resource, server_url):
        raise DiscoveryError(
            f"{fetched_from} describes resource {resource!r}, not {server_url}: refusing to sign in "
            "(a token obtained for it could be misused)",
            hint="check the URL; the server's metadata must name the server itself",
        )
    servers = doc.get("authorization_servers")
    if not isinstance(servers, list) or not [s for s in servers if isinstance(s, str) and s]:
        raise DiscoveryError(f"{fetched_from} lists no `authorization_servers`")
    return ProtectedResource(
        resource=canonical_resource(resource),
        authorization_servers=tuple(s for s in servers if isinstance(s, str) and s),
        scopes_supported=_strings(doc.get("scopes_supported")),
        url=fetched_from,
    )


def parse_auth_server(doc: object, issuer: str, kind: MetadataKind, fetched_from: str) -> AuthServer:
    """Validate authorization-server metadata: the issuer must be exactly the one the URL was built
    from (RFC 8414 §3.3), PKCE S256 must be advertised, and the endpoints must be safe."""
    if not isinstance(doc, dict):
        raise DiscoveryError(f"{fetched_from} is not a JSON object")
    if doc.get("issuer") != issuer:
        raise IssuerMismatch(
            f"{fetched_from} claims issuer {doc.get('issuer')!r}, not {issuer!r}: not using it "
            "(a mismatched issuer is how mix-up attacks start)"
        )
    methods = _strings(doc.get("code_challenge_methods_supported"))
    if not methods or S256 not in methods:
        advertised = list(methods) if methods else "absent"
        raise DiscoveryError(
            f"the authorization server {issuer} does not advertise PKCE S256 "
            f"(code_challenge_methods_supported: {advertised}): refusing to sign in",
            hint="the server's operator must enable PKCE with S256 (OAuth 2.1 requires it)",
        )
    responses = _strings(doc.get("response_types_supported"))
    if responses is not None and "code" not in responses:
        raise DiscoveryError(f"the authorization server {issuer} does not offer the authorization code flow")
    return AuthServer(
        issuer=issuer,
        authorization_endpoint=_endpoint(doc, "authorization_endpoint", issuer, required=True) or "",
        token_endpoint=_endpoint(doc, "token_endpoint", issuer, required=True) or "",
        registration_endpoint=_endpoint(doc, "registration_endpoint", issuer),
        revocation_endpoint=_endpoint(doc, "revocation_endpoint", issuer),
        scopes_supported=_strings(doc.get("scopes_supported")),
        token_endpoint_auth_methods=_strings(doc.get("token_endpoint_auth_methods_supported")),
        iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
        client_id_metadata_documents=doc.get("client_id_metadata_document_supported") is True,
        kind=kind,
    )


def legacy_auth_server(server_url: str) -> AuthServer:
    """2025-03-26 servers without any metadata: the default endpoints at the server's origin."""
    endpoints = {name: check_url(url, name) for name, url in legacy_endpoints(server_url).items()}
    return AuthServer(
        issuer=origin(server_url),
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        registration_endpoint=endpoints["registration_endpoint"],
        kind="defaults",
    )


def _endpoint(doc: dict[str, Any], name: str, issuer: str, *, required: bool = False) -> str | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise DiscoveryError(f"the authorization server {issuer} publishes no {name}")
    return check_url(value, f"{name} of {issuer}")


def _strings(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))
