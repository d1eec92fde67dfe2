"""`mcpctl login` end to end: oidc-provider, an OAuth-protected `mcpctl serve`, headless Chromium as the
person's browser (through $BROWSER), and a real Secret Service holding the tokens."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcpctl.oauth.records import client_user, token_user
from tests.oauth.conftest import Person, protected_host
from tests.support.host import HostProcess, mcpctl_command
from tests.support.oauth import OAuthServer
from tests.support.secret_service import without_keyring
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # a real OpenID provider and headless Chromium


def stored(person: Person, issuer: str, resource: str) -> dict[str, Any]:
    text = person.keyring(token_user(issuer, resource))
    assert text, "no login in the keyring"
    return json.loads(text)  # type: ignore[no-any-return]


def echo(person: Person, url: str, message: str = "hi") -> subprocess.CompletedProcess[str]:
    return person.run("call", "--url", url, "echo__echo", f"message={message}", "--timeout", "30")


def test_first_login_then_calls_with_the_stored_token(
    person: Person, protected: HostProcess, oauth_server: OAuthServer
) -> None:
    before = echo(person, protected.url)
    assert before.returncode == 4
    assert f"mcpctl login {protected.url}" in before.stderr  # the 401 says what to do

    done = person.login(protected.url)
    assert done.returncode == 0, done.stderr
    assert person.browser_opened() == 1
    assert f"signed in to {protected.url} via {oauth_server.issuer}" in done.stderr
    assert "stored in the OS keyring" in done.stderr

    record = stored(person, oauth_server.issuer, protected.url)
    tokens = record["tokens"]
    assert record["resource"] == protected.url
    assert record["client"]["kind"] == "dynamic"
    assert tokens["scopes"] == ["mcp:tools"]
    assert tokens["refresh_token"]
    assert abs(tokens["expires_at"] - (time.time() + 3600)) < 120  # absolute expiry, an hour out

    called = echo(person, protected.url, "hello through OAuth")
    assert called.returncode == 0, called.stderr
    assert "hello through OAuth" in called.stdout

    [login] = person.logins()
    assert (login["url"], login["issuer"], login["scopes"], login["refreshable"]) == (
        protected.url,
        oauth_server.issuer,
        ["mcp:tools"],
        True,
    )
    # tokens live in the keyring only: not in the index, the output, or any file mcpctl wrote
    everything = "".join(p.read_text(errors="replace") for p in person.home.rglob("*") if p.is_file())
    for secret in (tokens["access_token"], tokens["refresh_token"]):
        assert secret not in everything
        assert secret not in done.stdout + done.stderr + called.stdout + called.stderr
    assert oct((person.home / "state" / "oauth-logins.json").stat().st_mode & 0o777) == "0o600"


def test_expiry_refresh_and_refresh_token_reuse(
    person: Person, tmp_path: Path, short_lived: OAuthServer
) -> None:
    with protected_host(tmp_path, short_lived.issuer) as host:
        assert person.login(host.url).returncode == 0
        first = stored(person, short_lived.issuer, host.url)
        assert echo(person, host.url).returncode == 0

        # the 4 s access token expires; the server refuses it from then on
        old = first["tokens"]["access_token"]

        def refused() -> bool:
            response = httpx.post(host.url, json={}, headers={"authorization": f"Bearer {old}"}, timeout=5)
            return response.status_code == 401

        wait_until(refused, 15, message="the short-lived access token to expire")
        called = echo(person, host.url, "after expiry")
        assert called.returncode == 0, called.stderr
        assert "after expiry" in called.stdout
        second = stored(person, short_lived.issuer, host.url)
        assert second["tokens"]["access_token"] != old
        assert second["tokens"]["refresh_token"] != first["tokens"]["refresh_token"]  # rotated
        assert second["tokens"]["expires_at"] > first["tokens"]["expires_at"]

        # a copy of the login from before the rotation (a restored backup, another machine):
        # its refresh token was used once already, and the server refuses it
        user = token_user(short_lived.issuer, host.url)
        person.keyring(user, json.dumps(first))
        started = time.monotonic()
        reused = echo(person, host.url)
        assert reused.returncode == 4, reused.stderr
        assert f"mcpctl login {host.url}` again" in reused.stderr
        assert "invalid_grant" in reused.stderr
        assert time.monotonic() - started < 20  # one refusal, no refresh loop
        for secret in (first["tokens"]["refresh_token"], first["tokens"]["access_token"]):
            assert secret not in reused.stderr + reused.stdout

        assert person.login(host.url).returncode == 0  # signing in again mends it
        assert echo(person, host.url).returncode == 0


def test_a_token_refused_before_its_recorded_expiry_is_refreshed_once(
    person: Person, tmp_path: Path, short_lived: OAuthServer
) -> None:
    with protected_host(tmp_path, short_lived.issuer) as host:
        assert person.login(host.url).returncode == 0
        user = token_user(short_lived.issuer, host.url)
        record = stored(person, short_lived.issuer, host.url)
        record["tokens"]["expires_at"] = time.time() + 3600  # mcpctl believes it is good for an hour
        person.keyring(user, json.dumps(record))
        old = record["tokens"]["access_token"]
        expired = {"authorization": f"Bearer {old}"}
        wait_until(lambda: httpx.post(host.url, json={}, headers=expired).status_code == 401, 15)
        called = echo(person, host.url, "after a 401")
        assert called.returncode == 0, called.stderr
        assert stored(person, short_lived.issuer, host.url)["tokens"]["access_token"] != old


def test_cancelling_on_the_consent_page(person: Person, protected: HostProcess) -> None:
    done = person.login(protected.url, action="deny")
    assert done.returncode == 4
    assert "cancelled or refused" in done.stderr
    assert "access_denied" in done.stderr
    assert person.logins() == []


def test_a_response_with_a_forged_state_is_refused(person: Person, protected: HostProcess) -> None:
    done = person.login(protected.url, action="wrong-state")
    assert done.returncode == 4
    assert "does not carry this login's state" in done.stderr
    assert "nothing was stored" in done.stderr
    browser = person.browser_log.read_text()
    assert "forging the state" in browser
    assert "does not belong to the mcpctl sign-in in progress" in browser  # the page the person sees
    assert person.logins() == []


class _NoS256(BaseHTTPRequestHandler):
    """An MCP endpoint whose authorization server does not advertise PKCE S256."""

    def do_POST(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._send(401, {}, {"www-authenticate": f'Bearer resource_metadata="{base}/prm"'})

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/prm":
            self._send(200, {"resource": f"{base}/mcp", "authorization_servers": [base]})
        elif self.path == "/.well-known/oauth-authorization-server":
            self._send(
                200,
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "registration_endpoint": f"{base}/register",
                    "code_challenge_methods_supported": ["plain"],
                },
            )
        else:
            self._send(404, {})

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"content-type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def no_s256() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoS256)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_without_s256_is_refused_before_the_browser_opens(person: Person, no_s256: str) -> None:
    done = person.login(no_s256)
    assert done.returncode == 4
    assert "does not advertise PKCE S256" in done.stderr
    assert person.browser_opened() == 0
    assert person.logins() == []


def test_concurrent_logins_share_one_browser_round_trip(person: Person, protected: HostProcess) -> None:
    runs = [person.start("login", protected.url, "--timeout", "60") for _ in range(3)]
    results = [(run.wait(90), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert person.browser_opened() == 1  # one tab, one callback port, one verifier
    assert sum("another mcpctl process signed in meanwhile" in err for _, _, err in results) == 2
    assert len(person.logins()) == 1
    assert echo(person, protected.url).returncode == 0


def test_logout_forgets_and_revokes(
    person: Person, protected: HostProcess, oauth_server: OAuthServer
) -> None:
    assert person.login(protected.url).returncode == 0
    record = stored(person, oauth_server.issuer, protected.url)
    refresh, client_id = record["tokens"]["refresh_token"], record["client"]["client_id"]
    done = person.run("logout", protected.url, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["revoked"] is True
    assert person.keyring(token_user(oauth_server.issuer, protected.url)) is None
    assert record["client"]["kind"] == "dynamic"
    assert person.keyring(client_user(oauth_server.issuer)) is None  # no login uses it any more
    assert person.logins() == []
    # the revoked refresh token is dead at the authorization server too
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id}
    answer = httpx.post(f"{oauth_server.issuer}/token", data=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert person.run("logout", protected.url).returncode == 2
    assert echo(person, protected.url).returncode == 4


def test_no_keyring_fails_before_the_browser_opens(
    person: Person, protected: HostProcess, tmp_path: Path
) -> None:
    env = without_keyring(tmp_path / "nokeyring", person.env)
    done = subprocess.run(
        mcpctl_command("login", protected.url),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "no usable OS keyring" in done.stderr
    assert person.browser_opened() == 0
