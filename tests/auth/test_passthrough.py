"""Client credentials stop at the gateway: a remote backend sees only its own, from the keyring."""

from __future__ import annotations

import json

from tests.auth.conftest import Cli, every_file_text
from tests.auth.gateway import bearer, serving, write_config
from tests.auth.header_echo import header_echo_server
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.oauth import OAuthServer

UPSTREAM = "upstream-credential-0123456789"


def test_no_client_key_or_token_reaches_a_remote_backend(cli: Cli, oauth_server: OAuthServer) -> None:
    cli.run("secrets", "set", "upstream_token", stdin=UPSTREAM)
    key = cli.create_key("ci")
    client = oauth_server.register(scope="mcp:tools")
    with header_echo_server() as (url, seen):
        remote = {
            "url": url,
            "era": "legacy",
            "headers": {"Authorization": "Bearer ${keyring:upstream_token}"},
        }
        auth = {"mode": "both", "issuer": oauth_server.issuer}
        write_config(cli.home, auth=auth, servers={"remote": remote})
        with serving(cli) as host:
            token = oauth_server.token(client, host.url)
            for credentials in (bearer(key), {"x-api-key": key}, bearer(token)):
                with ModernClient(host.url, headers=credentials) as modern:
                    assert modern.call_tool("remote__whoami")["content"][0]["text"] == "ok"
                with LegacyClient(host.url, headers=credentials) as legacy:
                    assert legacy.call_tool("remote__whoami")["content"][0]["text"] == "ok"
            log = host.output()
        everything = seen.text()
        calls = [(h, b) for h, b in seen.requests if json.loads(b).get("method") == "tools/call"]
    assert len(calls) == 6
    assert key not in everything
    assert token not in everything
    assert "x-api-key" not in everything.lower()
    # what the backend does get is its own credential, resolved from the keyring
    assert all(headers["authorization"] == f"Bearer {UPSTREAM}" for headers, _ in calls)
    assert UPSTREAM not in log
    assert UPSTREAM not in every_file_text(cli.home)
