"""`mcpctl serve` with a remote server `auth = "oauth"`: it uses (and refreshes) the stored login."""

from __future__ import annotations

import json
from pathlib import Path

import tomli_w

from mcpctl.oauth.records import token_user
from tests.oauth.conftest import Person, protected_host
from tests.support.host import server_status, start_host
from tests.support.mcp_http import ModernClient
from tests.support.oauth import OAuthServer
from tests.support.waiting import wait_until


def test_a_remote_oauth_server_comes_up_after_login_and_stays_up_across_expiry(
    person: Person, tmp_path: Path, short_lived: OAuthServer
) -> None:
    with protected_host(tmp_path, short_lived.issuer) as remote:
        fast_retry = {"initial_backoff": "0.1s", "max_backoff": "0.5s", "max_failures": 1000}
        config = {"servers": {"remote": {"url": remote.url, "auth": "oauth", "restart": fast_retry}}}
        (person.home / "config").mkdir(parents=True)
        (person.home / "config" / "mcpctl.toml").write_text(tomli_w.dumps(config))
        host = start_host(person.home, env=person.env, wait_ready=False)
        try:
            missing = wait_until(
                lambda: str(server_status(host, "remote").get("lastError") or "") or None,
                20,
                message="the remote server to report its missing login",
            )
            assert f"run `mcpctl login {remote.url}`" in missing

            assert person.login(remote.url).returncode == 0
            wait_until(lambda: server_status(host, "remote")["state"] == "ready", 20, message="remote ready")
            with ModernClient(host.url, headers={"authorization": "Bearer a-client-token"}) as client:
                result = client.call_tool("remote__echo__echo", {"message": "via the host"})
                assert result["content"][0]["text"] == "via the host"
                first = json.loads(person.keyring(token_user(short_lived.issuer, remote.url)) or "{}")

                # the 4 s token expires: the host refreshes it before use (and stores the rotation)
                def refreshed() -> bool:
                    again = json.loads(person.keyring(token_user(short_lived.issuer, remote.url)) or "{}")
                    return again["tokens"]["access_token"] != first["tokens"]["access_token"]

                def answers() -> bool:
                    text = client.call_tool("remote__echo__echo", {"message": "later"})["content"][0]["text"]
                    return text == "later" and refreshed()

                wait_until(answers, 20, interval=0.5, message="a call after the token's expiry")
        finally:
            assert host.stop() == 0
        log = host.output()
        assert first["tokens"]["access_token"] not in log
        assert first["tokens"]["refresh_token"] not in log
    # the remote saw the login's subject, never the token the client sent to the host
    audit = (remote.home / "logs" / "audit" / "audit.jsonl").read_text()
    assert '"sub:test-user"' in audit
    assert "a-client-token" not in audit
