"""The gateway as an OAuth resource server, against a real OpenID provider issuing real JWTs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcpctl.protocol import codes
from tests.auth.conftest import Cli, audit_records
from tests.auth.gateway import RESOURCE_METADATA, bearer, ping, serving, write_config
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.oauth import OAuthServer, running_oauth_server
from tests.support.waiting import wait_until


def oauth(server: OAuthServer, **extra: Any) -> dict[str, Any]:
    return {"mode": "oauth", "issuer": server.issuer, "scopes": ["mcp:tools"], **extra}


def challenge_of(response: httpx.Response) -> str:
    return response.headers["www-authenticate"]


def test_a_valid_token_is_accepted_and_audited(cli: Cli, oauth_server: OAuthServer) -> None:
    write_config(cli.home, auth=oauth(oauth_server))
    client = oauth_server.register(scope="mcp:tools")
    with serving(cli) as host:
        missing = ping(host.url)
        assert missing.status_code == 401
        assert challenge_of(missing) == (
            f'Bearer scope="mcp:tools", resource_metadata="{host.base_url}{RESOURCE_METADATA}"'
        )
        metadata = httpx.get(host.base_url + RESOURCE_METADATA).json()
        assert metadata["resource"] == host.url
        assert metadata["authorization_servers"] == [oauth_server.issuer]
        assert metadata["scopes_supported"] == ["mcp:tools"]

        token = oauth_server.token(client, host.url)
        with ModernClient(host.url, headers=bearer(token)) as modern:
            assert "probe__search_code" in {t["name"] for t in modern.result("tools/list")["tools"]}
            seen = json.dumps(modern.call_tool("probe__received"))
    assert token not in seen  # never passed through to a backend
    assert token.split(".")[1][:20] not in seen
    success = [r for r in audit_records(cli.home) if r["kind"] == "auth.success"]
    assert success[0]["principal"] == f"sub:{client.client_id}"
    assert success[0]["principal_kind"] == "oauth"
    assert token not in (cli.home / "logs" / "audit" / "audit.jsonl").read_text()


def test_an_expired_token_is_refused(cli: Cli, oauth_server: OAuthServer) -> None:
    write_config(cli.home, auth=oauth(oauth_server, leeway=0))
    client = oauth_server.register(scope="mcp:tools", ttl=1)
    with serving(cli) as host:
        token = oauth_server.token(client, host.url)

        def refused() -> httpx.Response | None:
            response = ping(host.url, bearer(token))
            return response if response.status_code == 401 else None

        response = wait_until(refused, 10, message="the one-second token to expire")
        assert challenge_of(response).startswith(
            'Bearer error="invalid_token", error_description="token expired"'
        )


def test_a_token_for_another_resource_is_refused(cli: Cli, oauth_server: OAuthServer) -> None:
    write_config(cli.home, auth=oauth(oauth_server))
    client = oauth_server.register(scope="mcp:tools")
    token = oauth_server.token(client, "http://127.0.0.1:1/mcp")  # another server's audience
    with serving(cli) as host:
        response = ping(host.url, bearer(token))
        assert response.status_code == 401
        assert "wrong audience" in challenge_of(response)


def test_a_token_from_another_issuer_is_refused(cli: Cli, oauth_server: OAuthServer, tmp_path: Path) -> None:
    # The same provider's keys, but the gateway trusts a different issuer name: the iss check alone refuses.
    other_name = oauth_server.issuer.replace("127.0.0.1", "localhost")
    write_config(cli.home, auth=oauth(oauth_server, issuer=other_name, jwks_uri=oauth_server.jwks_uri))
    client = oauth_server.register(scope="mcp:tools")
    with serving(cli) as host:
        response = ping(host.url, bearer(oauth_server.token(client, host.url)))
        assert response.status_code == 401
        assert "wrong issuer" in challenge_of(response)
    # A second, independent provider: its tokens are signed with keys the gateway never trusted.
    write_config(cli.home, auth=oauth(oauth_server))
    with running_oauth_server(tmp_path / "other", RS_SCOPES="mcp:tools") as other, serving(cli) as host:
        stranger = other.token(other.register(scope="mcp:tools"), host.url)
        response = ping(host.url, bearer(stranger))
        assert response.status_code == 401
        assert "bad signature" in challenge_of(response) or "unknown signing key" in challenge_of(response)


def test_a_token_without_the_required_scope_gets_403(cli: Cli, oauth_server: OAuthServer) -> None:
    write_config(cli.home, auth=oauth(oauth_server))
    client = oauth_server.register(scope="mcp:tools mcp:admin")
    with serving(cli) as host:
        token = oauth_server.token(client, host.url, scope="mcp:admin")
        response = ping(host.url, bearer(token))
        assert response.status_code == 403
        assert challenge_of(response) == (
            'Bearer error="insufficient_scope", error_description="insufficient scope", scope="mcp:tools", '
            f'resource_metadata="{host.base_url}{RESOURCE_METADATA}"'
        )
    denied = [r for r in audit_records(cli.home) if r["kind"] == "auth.denied"]
    assert denied[0]["http_status"] == 403


POLICY = [
    # engineers may use the probe's tools, with a token that carries files:write
    {"principals": ["group:eng"], "tools": ["probe__*"], "scopes": ["files:write"]},
    # admins (a role) may use everything
    {"principals": ["role:admin"], "tools": ["*"]},
    # everyone may echo
    {"principals": ["*"], "tools": ["echo__*"]},
]


def names(client: ModernClient) -> set[str]:
    return {t["name"] for t in client.result("tools/list")["tools"]}


def test_policy_by_group_role_and_scope(cli: Cli, oauth_server: OAuthServer) -> None:
    write_config(cli.home, auth=oauth(oauth_server), policy=POLICY)
    engineer = oauth_server.register(scope="mcp:tools files:write", groups=["eng"])
    admin = oauth_server.register(scope="mcp:tools", roles=["admin"])
    outsider = oauth_server.register(scope="mcp:tools")
    with serving(cli) as host:
        metadata = httpx.get(host.base_url + RESOURCE_METADATA).json()
        assert metadata["scopes_supported"] == ["files:write", "mcp:tools"]

        narrow = oauth_server.token(engineer, host.url, scope="mcp:tools")
        with ModernClient(host.url, headers=bearer(narrow)) as client:
            assert not any(n.startswith("probe__") for n in names(client))  # hidden until stepped up
            step_up = client.post(client.body("tools/call", {"name": "probe__delete_repo", "arguments": {}}))
            assert step_up.status_code == 403
            assert 'error="insufficient_scope"' in challenge_of(step_up)
            assert 'scope="files:write"' in challenge_of(step_up)

        wide = oauth_server.token(engineer, host.url, scope="mcp:tools files:write")
        with ModernClient(host.url, headers=bearer(wide)) as client:
            assert {"probe__delete_repo", "echo__echo"} <= names(client)
            assert client.call_tool("probe__delete_repo", {"repo": "r"})["content"][0]["text"] == "deleted r"

        with ModernClient(host.url, headers=bearer(oauth_server.token(admin, host.url))) as client:
            assert {"probe__delete_repo", "echo__echo"} <= names(client)

        with ModernClient(host.url, headers=bearer(oauth_server.token(outsider, host.url))) as client:
            assert all(n.startswith("echo__") for n in names(client))
            denied = client.request("tools/call", {"name": "probe__delete_repo", "arguments": {}})[-1]
            assert denied["error"]["code"] == codes.FORBIDDEN
            assert "no policy rule allows" in denied["error"]["message"]


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_both_mode_takes_keys_and_tokens_and_keeps_sessions_apart(
    cli: Cli, oauth_server: OAuthServer, era: str
) -> None:
    write_config(cli.home, auth=oauth(oauth_server, mode="both"))
    key = cli.create_key("robot")
    client = oauth_server.register(scope="mcp:tools")
    with serving(cli) as host:
        token = oauth_server.token(client, host.url)
        assert ping(host.url, bearer(key)).status_code == 200
        assert ping(host.url, {"x-api-key": key}).status_code == 200
        assert ping(host.url, bearer(token)).status_code == 200
        if era == "legacy":
            with LegacyClient(host.url, headers=bearer(token)) as session:
                stolen = {**session.headers(), **bearer(key)}
                body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
                assert httpx.post(host.url, json=body, headers=stolen).status_code == 404
                assert session.result("tools/list")["tools"]
        else:
            with ModernClient(host.url, headers=bearer(token)) as modern:
                assert token not in json.dumps(modern.call_tool("probe__received"))
