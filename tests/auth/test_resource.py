"""The protected resource: canonical URL, accepted audiences, RFC 9728 metadata and challenges (pure)."""

from __future__ import annotations

from typing import Any

from mcpctl.auth.jwks import metadata_urls
from mcpctl.auth.resource import ProtectedResource


def scope(
    host: str | None = "127.0.0.1:8765", server: tuple[str, int] = ("127.0.0.1", 8765)
) -> dict[str, Any]:
    headers = [(b"host", host.encode())] if host is not None else []
    return {"type": "http", "scheme": "http", "server": server, "headers": headers, "path": "/mcp"}


def test_audiences_come_from_the_bound_socket_not_the_host_header() -> None:
    resource = ProtectedResource(issuer="https://id.example", scopes=["mcp:tools"])
    forged = scope(host="evil.example:443")
    assert resource.audiences(forged) == {
        "http://127.0.0.1:8765/mcp",
        "http://localhost:8765/mcp",
        "http://[::1]:8765/mcp",
    }
    # what the client is told to ask for follows the name it used (a hint only)
    assert resource.resource(scope(host="localhost:8765")) == "http://localhost:8765/mcp"
    assert resource.resource(scope(host='bad"host')) == "http://127.0.0.1:8765/mcp"


def test_public_url_and_audience_win() -> None:
    public = ProtectedResource(issuer=None, scopes=[], public_url="https://mcp.example.com/")
    assert public.resource(scope()) == "https://mcp.example.com/mcp"
    assert public.audiences(scope()) == {"https://mcp.example.com/mcp"}
    assert public.metadata_url(scope()) == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    pinned = ProtectedResource(issuer=None, scopes=[], audience="api://mcpctl")
    assert pinned.audiences(scope()) == {"api://mcpctl"}


def test_metadata_and_challenges() -> None:
    resource = ProtectedResource(
        issuer="https://id.example", scopes=["mcp:tools"], extra_scopes=["files:write"]
    )
    assert resource.metadata(scope()) == {
        "resource": "http://127.0.0.1:8765/mcp",
        "authorization_servers": ["https://id.example"],
        "scopes_supported": ["files:write", "mcp:tools"],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcpctl gateway",
    }
    url = "http://127.0.0.1:8765/.well-known/oauth-protected-resource/mcp"
    assert resource.challenge(scope()) == f'Bearer scope="mcp:tools", resource_metadata="{url}"'.encode()
    stepped = resource.challenge(
        scope(), error="insufficient_scope", description='needs "x"', needed=["files:write"]
    )
    assert (
        stepped
        == (
            f'Bearer error="insufficient_scope", error_description="needs x", scope="files:write", '
            f'resource_metadata="{url}"'
        ).encode()
    )


def test_issuer_metadata_is_looked_up_in_the_specified_order() -> None:
    assert metadata_urls("https://id.example") == [
        "https://id.example/.well-known/oauth-authorization-server",
        "https://id.example/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://id.example/tenant1/") == [
        "https://id.example/.well-known/oauth-authorization-server/tenant1",
        "https://id.example/.well-known/openid-configuration/tenant1",
        "https://id.example/tenant1/.well-known/openid-configuration",
    ]
