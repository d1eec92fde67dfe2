"""`mcpctl serve --auth api-key`: 401s with RFC 9728 challenges, per-key tools, revocation, sessions."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import httpx
import pytest

from mcpctl.protocol import codes
from tests.auth.conftest import Cli, audit_records
from tests.auth.gateway import (
    RESOURCE_METADATA,
    bearer,
    digest,
    json_text,
    ping,
    serving,
    write_config,
)
from tests.support.host import mcpctl_command
from tests.support.mcp_http import ACCEPT, LegacyClient, ModernClient
from tests.support.waiting import wait_until


def test_requests_without_a_valid_key_get_401_with_a_challenge(cli: Cli) -> None:
    write_config(cli.home)
    key = cli.create_key("ci")
    with serving(cli, "--auth", "api-key") as host:
        missing = ping(host.url)
        assert missing.status_code == 401
        challenge = missing.headers["www-authenticate"]
        assert challenge == f'Bearer resource_metadata="{host.base_url}{RESOURCE_METADATA}"'

        unknown = "mcpk_" + key[5:17] + "_" + "a" * 52  # the right id, the wrong secret
        for credential, reason in [
            (unknown, "unknown API key"),
            ("mcpk_nonsense", "malformed API key"),
            ("not-a-key", "not an API key"),
        ]:
            refused = ping(host.url, bearer(credential))
            assert refused.status_code == 401, credential
            assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
            assert reason in refused.json()["error"]["message"]
        assert ping(host.url, {"authorization": f"Basic {key}"}).status_code == 401

        assert ping(host.url, bearer(key)).status_code == 200
        assert ping(host.url, {"x-api-key": key}).status_code == 200

        # probes and the metadata stay open; they say nothing secret
        assert httpx.get(host.base_url + "/health").status_code == 200
        assert httpx.get(host.base_url + "/ready").json()["ready"] is True
        metadata = httpx.get(host.base_url + RESOURCE_METADATA).json()
        assert metadata["resource"] == host.url
        assert metadata["bearer_methods_supported"] == ["header"]
    reasons = [r.get("reason") for r in audit_records(cli.home) if r["kind"] == "auth.failure"]
    assert {"no credentials", "unknown API key", "malformed API key"} <= set(reasons)
    assert key not in (cli.home / "logs" / "audit" / "audit.jsonl").read_text()
    assert any(r["kind"] == "auth.success" and r["principal"] == "ci" for r in audit_records(cli.home))


def test_a_key_sees_and_calls_only_its_tools(cli: Cli) -> None:
    write_config(cli.home)
    key = cli.create_key("analytics", "--tools", "probe__search_*", "--tools", "echo__ec*")
    with serving(cli, "--auth", "api-key") as host, ModernClient(host.url, headers=bearer(key)) as client:
        names = sorted(t["name"] for t in client.result("tools/list")["tools"])
        assert names == ["echo__echo", "probe__search_code"]
        assert client.call_tool("probe__search_code", {"q": "x"})["content"][0]["text"] == "found x"

        denied = client.request("tools/call", {"name": "probe__delete_repo", "arguments": {"repo": "r"}})[-1]
        assert denied["error"]["code"] == codes.FORBIDDEN
        assert "may use only probe__search_*, echo__ec*" in denied["error"]["message"]
        resource = client.request("resources/read", {"uri": "fixture://echo/readme"})[-1]
        assert resource["error"]["code"] == codes.FORBIDDEN  # the globs are the whole of what it may reach

    def denial() -> dict[str, Any] | None:
        return next((r for r in audit_records(cli.home) if r["kind"] == "auth.denied"), None)

    record = wait_until(denial, 5, message="an auth.denied audit record")
    assert record["principal"] == "analytics"
    assert record["tool"] == "probe__delete_repo"


@pytest.mark.parametrize("watched", [True, False], ids=["inotify", "polled"])
def test_revoked_new_and_rotated_keys_count_from_the_next_request(cli: Cli, watched: bool) -> None:
    if not watched:  # a state directory reached through a symbolic link is polled (mcpctl/fswatch.py)
        (cli.home.parent / "state").mkdir()
        (cli.home / "state").symlink_to(cli.home.parent / "state")
    write_config(cli.home)
    first = cli.create_key("first")
    with serving(cli, "--auth", "api-key") as host:
        assert ping(host.url, bearer(first)).status_code == 200
        polling = "for changes: its path goes through a symbolic link" in host.output()
        assert polling is not watched, host.output()[-3000:]
        cli.run("keys", "revoke", "first")
        revoked = ping(host.url, bearer(first))  # no wait, no restart
        assert revoked.status_code == 401
        assert "API key revoked" in revoked.json()["error"]["message"]

        later = cli.create_key("later")  # made while the gateway runs
        assert ping(host.url, bearer(later)).status_code == 200

        rotated = cli.run("keys", "rotate", "later", "--overlap", "1h").stdout.strip()
        assert ping(host.url, bearer(rotated)).status_code == 200
        assert ping(host.url, bearer(later)).status_code == 200  # inside the overlap
        newest = cli.run("keys", "rotate", "later", "--overlap", "0").stdout.strip()
        assert ping(host.url, bearer(newest)).status_code == 200
        assert ping(host.url, bearer(rotated)).status_code == 401  # no overlap asked for
    failures = [r for r in audit_records(cli.home) if r["kind"] == "auth.failure"]
    assert {"API key revoked", "API key retired"} <= {r["reason"] for r in failures}


def test_an_expired_key_is_refused(cli: Cli) -> None:
    write_config(cli.home)
    with serving(cli, "--auth", "api-key") as host:
        key = cli.create_key("brief", "--expires", "3s")  # the running gateway picks it up
        assert ping(host.url, bearer(key)).status_code == 200
        refused = wait_until(
            lambda: ping(host.url, bearer(key)).status_code == 401, 10, message="the key to expire"
        )
        assert refused
        assert "API key expired" in ping(host.url, bearer(key)).json()["error"]["message"]


def test_a_legacy_session_belongs_to_the_key_that_opened_it(cli: Cli) -> None:
    write_config(cli.home)
    alice, mallory = cli.create_key("alice"), cli.create_key("mallory")
    with serving(cli, "--auth", "api-key") as host, LegacyClient(host.url, headers=bearer(alice)) as client:
        stolen = {**client.headers(), **bearer(mallory)}
        body = {"jsonrpc": "2.0", "id": 99, "method": "tools/list"}
        assert httpx.post(host.url, json=body, headers=stolen).status_code == 404
        with httpx.stream("GET", host.url, headers={**stolen, "accept": "text/event-stream"}) as stream:
            assert stream.status_code == 404
        assert httpx.delete(host.url, headers=stolen).status_code == 404
        # the owner's session is untouched
        assert client.call_tool("echo__echo", {"message": "still mine"})["content"][0]["text"] == "still mine"


def test_a_legacy_sse_session_belongs_to_the_key_that_opened_it(cli: Cli) -> None:
    write_config(cli.home)
    alice, mallory = cli.create_key("alice"), cli.create_key("mallory")
    with serving(cli, "--auth", "api-key") as host, httpx.Client(timeout=10) as http:
        assert http.get(host.base_url + "/sse").status_code == 401
        with http.stream("GET", host.base_url + "/sse", headers=bearer(alice)) as stream:
            lines = stream.iter_lines()  # kept referenced: collecting it would close the stream
            endpoint = next(line for line in lines if line.startswith("data:"))[5:].strip()
            params = {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            }
            body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
            hijack = http.post(host.base_url + endpoint, json=body, headers=bearer(mallory))
            assert hijack.status_code == 404
            assert http.post(host.base_url + endpoint, json=body, headers=bearer(alice)).status_code == 202


def test_client_credentials_never_reach_a_backend(cli: Cli) -> None:
    write_config(cli.home)
    key = cli.create_key("ci")
    with serving(cli, "--auth", "api-key") as host:
        with ModernClient(host.url, headers=bearer(key)) as modern:
            seen_modern = json.dumps(modern.call_tool("probe__received"))
            environment = json_text(modern.call_tool("probe__environment"))
        with LegacyClient(host.url, headers=bearer(key)) as legacy:
            seen_legacy = json.dumps(legacy.call_tool("probe__received"))
    for seen in (seen_modern, seen_legacy):
        assert key not in seen
        assert key[5:17] not in seen
        assert "authorization" not in seen.lower()
        assert "x-api-key" not in seen.lower()
    assert digest(key) not in environment.values()
    assert not {"MCPCTL_API_KEY", "AUTHORIZATION"} & set(environment)


def test_last_used_is_recorded_in_batches_and_listed(cli: Cli) -> None:
    write_config(cli.home)
    key = cli.create_key("busy")
    with serving(cli, "--auth", "api-key") as host:
        for _ in range(20):
            assert ping(host.url, bearer(key)).status_code == 200
        usage = cli.home / "state" / "api-keys-usage.json"
        assert not usage.exists()  # not written per request...
    row = json.loads(cli.run("keys", "list", "--json").stdout)[0]
    assert row["lastUsed"] is not None  # ...but at shutdown (and every 30 s while running)
    assert row["lastUsed"] >= row["created"]


def test_auth_allows_a_network_bind_and_none_is_said_loudly(cli: Cli) -> None:
    write_config(cli.home)
    refused = subprocess.run(
        mcpctl_command("serve", "--host", "0.0.0.0", "--port", "0"),
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 2
    assert "without authentication" in refused.stderr
    key = cli.create_key("remote")
    with serving(cli, "--host", "0.0.0.0", "--auth", "api-key") as host:
        port = host.url.rsplit(":", 1)[1].split("/")[0]
        url = f"http://127.0.0.1:{port}/mcp"
        assert ping(url).status_code == 401
        assert ping(url, bearer(key)).status_code == 200
        assert "authentication is OFF" not in host.output()
    with serving(cli) as host:
        assert "authentication is OFF (auth mode none)" in host.output()
        assert ping(host.url).status_code == 200


def test_auth_from_the_config_file(cli: Cli) -> None:
    write_config(cli.home, auth={"mode": "api-key"})
    with serving(cli) as host:
        assert ping(host.url).status_code == 401
    done = subprocess.run(
        mcpctl_command("serve", "--auth", "oauth", "--port", "0"),
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "needs the issuer" in done.stderr
    assert ACCEPT


def test_revoking_a_key_closes_the_streams_it_opened(cli: Cli) -> None:
    write_config(cli.home)
    doomed, kept = cli.create_key("doomed"), cli.create_key("kept")
    status: dict[str, int] = {}
    ended: dict[str, threading.Event] = {}

    def hold(label: str, url: str, headers: dict[str, str], opened: threading.Event) -> None:
        ended[label] = threading.Event()
        headers = {**headers, "accept": "text/event-stream"}
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=60)) as http,
            http.stream("GET", url, headers=headers) as stream,
        ):
            status[label] = stream.status_code
            opened.set()
            for _ in stream.iter_lines():
                pass
        ended[label].set()

    with (
        serving(cli, "--auth", "api-key") as host,
        LegacyClient(host.url, headers=bearer(doomed)) as session,
        LegacyClient(host.url, headers=bearer(kept)) as other,
    ):
        streams = {
            "GET stream": (host.url, {**bearer(doomed), **session.headers()}),
            "/sse stream": (host.base_url + "/sse", bearer(doomed)),
            "another key's GET stream": (host.url, {**bearer(kept), **other.headers()}),
        }
        threads = []
        for label, (url, headers) in streams.items():
            opened = threading.Event()
            thread = threading.Thread(target=hold, args=(label, url, headers, opened), daemon=True)
            thread.start()
            threads.append(thread)
            assert opened.wait(10), f"the {label} did not open"
            assert status[label] == 200, f"the {label} was refused: HTTP {status[label]}"
        cli.run("keys", "revoke", "doomed")
        for label in ("GET stream", "/sse stream"):
            assert ended[label].wait(10), f"the {label} stayed open after its key was revoked"
        assert not ended["another key's GET stream"].is_set()
        assert other.call_tool("echo__echo", {"message": "still here"})["content"][0]["text"] == "still here"
