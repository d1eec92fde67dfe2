"""Discovery rules without I/O: URL order, resource matching, issuer and PKCE checks, https."""

from __future__ import annotations

from typing import Any

import pytest

from mcpctl.oauth.errors import DiscoveryError
from mcpctl.oauth.metadata import (
    IssuerMismatch,
    legacy_auth_server,
    parse_auth_server,
    parse_protected_resource,
)
from mcpctl.oauth.urls import (
    auth_server_candidates,
    canonical_resource,
    check_url,
    protected_resource_candidates,
    resource_covers,
)

ISSUER = "https://auth.example.com"


def metadata(**extra: Any) -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "code_challenge_methods_supported": ["S256"],
        **extra,
    }


def test_protected_resource_urls_path_first_then_root() -> None:
    assert protected_resource_candidates("https://example.com/public/mcp") == [
        "https://example.com/.well-known/oauth-protected-resource/public/mcp",
        "https://example.com/.well-known/oauth-protected-resource",
    ]
    assert protected_resource_candidates("https://example.com") == [
        "https://example.com/.well-known/oauth-protected-resource"
    ]


def test_auth_server_urls_in_the_spec_order() -> None:
    assert [u for u, _ in auth_server_candidates("https://auth.example.com/tenant1")] == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]
    assert auth_server_candidates(ISSUER) == [
        (f"{ISSUER}/.well-known/oauth-authorization-server", "rfc8414"),
        (f"{ISSUER}/.well-known/openid-configuration", "oidc"),
    ]


def test_canonical_resource_lowercases_scheme_and_host_only() -> None:
    assert canonical_resource("HTTPS://MCP.Example.COM/Path/MCP#frag") == "https://mcp.example.com/Path/MCP"
    assert canonical_resource("https://mcp.example.com/") == "https://mcp.example.com"


def test_a_resource_covers_its_own_path_and_children_only() -> None:
    server = "https://mcp.example.com/api/mcp"
    assert resource_covers("https://mcp.example.com/api/mcp", server)
    assert resource_covers("https://MCP.example.com:443", server)
    assert resource_covers("https://mcp.example.com/api", server)
    assert not resource_covers("https://mcp.example.com/ap", server)
    assert not resource_covers("https://evil.example.com/api/mcp", server)
    assert not resource_covers("http://mcp.example.com/api/mcp", server)
    assert not resource_covers("https://mcp.example.com:8443/api/mcp", server)


def test_protected_resource_for_another_server_is_refused() -> None:
    doc = {"resource": "https://evil.example.com/mcp", "authorization_servers": [ISSUER]}
    with pytest.raises(DiscoveryError, match="refusing to sign in"):
        parse_protected_resource(doc, "https://mcp.example.com/mcp", "https://mcp.example.com/prm")
    with pytest.raises(DiscoveryError, match="authorization_servers"):
        parse_protected_resource(
            {"resource": "https://mcp.example.com/mcp"}, "https://mcp.example.com/mcp", "x"
        )
    good = parse_protected_resource(
        {"resource": "https://mcp.example.com", "authorization_servers": [ISSUER], "scopes_supported": ["a"]},
        "https://mcp.example.com/mcp",
        "x",
    )
    assert (good.resource, good.authorization_servers, good.scopes_supported) == (
        "https://mcp.example.com",
        (ISSUER,),
        ("a",),
    )


def test_metadata_must_name_exactly_the_issuer_it_was_fetched_for() -> None:
    with pytest.raises(IssuerMismatch):
        parse_auth_server(metadata(issuer="https://honest.example"), ISSUER, "rfc8414", "u")
    with pytest.raises(IssuerMismatch):  # no normalisation: a trailing slash is another issuer
        parse_auth_server(metadata(issuer=ISSUER + "/"), ISSUER, "rfc8414", "u")


def test_pkce_s256_must_be_advertised() -> None:
    with pytest.raises(DiscoveryError, match="S256"):
        parse_auth_server(metadata(code_challenge_methods_supported=None), ISSUER, "oidc", "u")
    with pytest.raises(DiscoveryError, match="S256"):
        parse_auth_server(metadata(code_challenge_methods_supported=["plain"]), ISSUER, "rfc8414", "u")
    server = parse_auth_server(
        metadata(
            authorization_response_iss_parameter_supported=True, client_id_metadata_document_supported=True
        ),
        ISSUER,
        "rfc8414",
        "u",
    )
    assert server.iss_parameter_supported
    assert server.client_id_metadata_documents
    assert server.registration_endpoint is None


def test_endpoints_must_be_https_except_on_loopback() -> None:
    with pytest.raises(DiscoveryError, match="https"):
        parse_auth_server(metadata(token_endpoint="http://auth.example.com/token"), ISSUER, "rfc8414", "u")
    assert check_url("http://127.0.0.1:9/token", "x") == "http://127.0.0.1:9/token"
    assert check_url("http://localhost:9/token", "x")
    with pytest.raises(DiscoveryError):
        check_url("https://auth.example.com/token#x", "x")
    with pytest.raises(DiscoveryError):
        check_url("ftp://auth.example.com/token", "x")


def test_2025_03_26_defaults_sit_at_the_origin() -> None:
    server = legacy_auth_server("https://api.example.com/v1/mcp")
    assert (
        server.issuer,
        server.authorization_endpoint,
        server.token_endpoint,
        server.registration_endpoint,
    ) == (
        "https://api.example.com",
        "https://api.example.com/authorize",
        "https://api.example.com/token",
        "https://api.example.com/register",
    )
