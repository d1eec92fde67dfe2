"""The HTTP edge: DNS-rebinding protection, limits, sessions, the 2024-11-05 transport, streams."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Launch
from tests.support.host import HostProcess, base_env, fixture, mcpctl_command, start_host, write_config
from tests.support.mcp_http import ACCEPT, LegacyClient, ModernClient, parse_sse
from tests.support.waiting import wait_until


@pytest.fixture
def host(home: Path) -> Iterator[HostProcess]:
    config = write_config(
        home,
        """
[gateway]
max_body_bytes = 65536
session_ttl = "2s"

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    running = start_host(home, "--config", str(config))
    yield running
    running.stop()


def test_foreign_origin_and_host_are_refused(host: HostProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    evil = httpx.post(host.url, json=body, headers={"origin": "http://evil.example", "accept": ACCEPT})
    assert evil.status_code == 403 and "Origin" in evil.json()["error"]["message"]
    rebinding = httpx.post(host.url, json=body, headers={"host": "evil.example:80", "accept": ACCEPT})
    assert rebinding.status_code == 403 and "Host" in rebinding.json()["error"]["message"]
    local = httpx.post(host.url, json=body, headers={"origin": "http://localhost:3000", "accept": ACCEPT})
    assert local.status_code != 403


def test_a_body_over_the_limit_gets_413_with_a_json_rpc_error(host: HostProcess) -> None:
    big = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo__echo", "arguments": {"message": "x" * 70000}},
    }
    response = httpx.post(host.url, json=big, headers={"accept": ACCEPT})
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]["message"]


def test_unknown_and_deleted_sessions_get_404(host: HostProcess) -> None:
    client = LegacyClient(host.url)
    client.initialize()
    client.http.close()
    client.http = httpx.Client(timeout=10)
    assert client.result("ping") == {}
    assert (
        client.http.delete(host.url, headers={"mcp-session-id": client.session_id or ""}).status_code == 200
    )
    after = client.post({"jsonrpc": "2.0", "id": 9, "method": "ping"})
    assert after.status_code == 404  # so clients know to initialize again (not 400)
    client.session_id = "0" * 32
    assert client.post({"jsonrpc": "2.0", "id": 10, "method": "ping"}).status_code == 404
    client.http.close()


def test_a_method_an_endpoint_does_not_take_gets_405_with_allow_and_a_json_rpc_error(
    host: HostProcess,
) -> None:
    base = host.base_url
    for method, path, allow in (
        ("PUT", "/mcp", "GET, POST, DELETE"),
        ("GET", "/mcp", "GET, POST, DELETE"),  # GET without a session: 2026-07-28 has no GET stream
        ("DELETE", "/mcp", "GET, POST, DELETE"),  # DELETE without a session
        ("POST", "/sse", "GET"),
        ("GET", "/messages", "POST"),
    ):
        response = httpx.request(method, base + path, headers={"accept": ACCEPT})
        assert (response.status_code, response.headers.get("allow")) == (405, allow), (method, path)
        assert response.json()["error"]["code"] == -32600, (method, path)
    # the 2024-11-05 transport's refusals are JSON-RPC errors too
    gone = httpx.post(base + "/messages?sessionId=nope", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert gone.status_code == 404 and "Session not found" in gone.json()["error"]["message"]


def test_an_sse_stream_past_the_session_bound_gets_429_with_a_json_rpc_error(home: Path) -> None:
    config = write_config(
        home,
        """
[gateway]
max_sessions = 1

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    running = start_host(home, "--config", str(config))
    try:
        with httpx.Client(timeout=10) as http, http.stream("GET", running.base_url + "/sse") as first:
            assert first.status_code == 200  # its stream is open: the session is busy, not idle
            refused = http.get(running.base_url + "/sse")
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == -31002
            assert "Too many open sessions" in refused.json()["error"]["message"]
    finally:
        running.stop()


def test_idle_sessions_expire(host: HostProcess) -> None:
    from tests.support.host import admin

    with LegacyClient(host.url) as client:
        assert admin(host, "/servers")["sessions"] == 1
        # Watch from the side (the admin API does not touch sessions) until the 2 s TTL passes.
        wait_until(
            lambda: admin(host, "/servers")["sessions"] == 0, timeout=10, message="the session to expire"
        )
        assert client.post({"jsonrpc": "2.0", "id": 2, "method": "ping"}).status_code == 404


def test_a_2024_11_05_client_over_http_plus_sse(host: HostProcess) -> None:
    with (
        httpx.Client(timeout=10) as http,
        http.stream("GET", host.base_url + "/sse", headers={"accept": "text/event-stream"}) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == "event: endpoint"
        endpoint = next(lines).removeprefix("data: ")
        assert endpoint.startswith("/messages?sessionId=")
        post_url = host.base_url + endpoint
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "old", "version": "1"},
            },
        }
        assert http.post(post_url, json=init).status_code == 202
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo__echo", "arguments": {"message": "old"}},
        }
        assert http.post(post_url, json=call).status_code == 202
        seen = []
        for line in lines:
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if any(m.get("id") == 2 for m in seen):
                    break
        assert seen[0]["result"]["protocolVersion"] == "2024-11-05"
        assert seen[-1]["result"]["content"][0]["text"] == "old"


def test_list_changes_reach_open_streams_of_both_eras(host: HostProcess) -> None:
    legacy = LegacyClient(host.url)
    legacy.initialize()
    received: list[dict[str, object]] = []
    modern_events: list[dict[str, object]] = []

    def follow_get() -> None:
        with httpx.stream(
            "GET",
            host.url,
            headers={"accept": "text/event-stream", "mcp-session-id": legacy.session_id or ""},
            timeout=30,
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    return

    modern = ModernClient(host.url)
    listen = modern.body("subscriptions/listen", {"notifications": {"toolsListChanged": True}})

    def follow_listen() -> None:
        from mcpctl.protocol.headers import standard_headers

        with httpx.stream(
            "POST", host.url, json=listen, headers={"accept": ACCEPT, **standard_headers(listen)}, timeout=30
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    modern_events.append(json.loads(line[6:]))
                    if len(modern_events) == 2:
                        return

    threads = [threading.Thread(target=follow_get), threading.Thread(target=follow_listen)]
    for thread in threads:
        thread.start()
    wait_until(lambda: modern_events, message="the subscription acknowledgement")
    assert modern_events[0]["method"] == "notifications/subscriptions/acknowledged"
    wait_until(lambda: _get_stream_open(host), message="the GET stream to open")
    legacy.call_tool("echo__add_tool", {"name": "fresh"})
    for thread in threads:
        thread.join(10)
    assert received and received[0]["method"] == "notifications/tools/list_changed"
    assert modern_events[1]["method"] == "notifications/tools/list_changed"
    assert modern_events[1]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == listen["id"]
    names = [t["name"] for t in legacy.result("tools/list")["tools"]]
    assert "echo__fresh" in names
    legacy.__exit__()
    modern.__exit__()


def _get_stream_open(host: HostProcess) -> bool:
    from tests.support.host import admin

    return admin(host, "/servers")["sessions"] == 1


def test_a_second_server_does_not_rename_the_first_ones_tools(home: Path, launch: Launch) -> None:
    one = write_config(
        home / "one",
        """
[servers.alpha]
command = "{python}"
args = ["{fixtures}/echo.py", "--prefix-tools", "very.long.dotted.prefix.that.goes.on.and.on."]
""",
    )
    first = launch(home / "one", "--config", str(one))
    with ModernClient(first.url) as client:
        listed = client.result("tools/list")["tools"]
    assert first.stop() == 0
    before = sorted(t["name"] for t in listed)
    echo = next(t["name"] for t in listed if t.get("description") == "Return the message unchanged.")
    two = write_config(
        home / "two",
        one.read_text()
        + """
[servers.beta]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    second = launch(home / "two", "--config", str(two))
    with ModernClient(second.url) as client:
        after = [t["name"] for t in client.result("tools/list")["tools"]]
        assert set(before) <= set(after)
        assert all(len(n) <= 64 and n.replace("_", "a").replace("-", "a").isalnum() for n in after)
        # the first server's tool, under the name it had before, still reaches that tool
        assert client.call_tool(echo, {"message": "x"})["content"] == [{"type": "text", "text": "x"}]


def test_non_loopback_bind_is_refused_without_authentication(home: Path) -> None:
    proc = subprocess.run(
        mcpctl_command("serve", "--host", "0.0.0.0", "--port", "0", "--", *fixture("echo.py")),
        env=base_env(home),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "without authentication" in proc.stderr


def test_the_host_header_is_checked_on_a_network_bind_too(home: Path) -> None:
    """Listening on 0.0.0.0 without auth (the user opted in) must not switch off rebinding protection."""
    config = write_config(
        home,
        """
[gateway]
allowed_hosts = ["mcp.internal:8765", "tools.internal"]

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    running = start_host(home, "--config", str(config), "--host", "0.0.0.0", "--allow-unauthenticated")
    try:
        port = running.url.rsplit(":", 1)[1].split("/")[0]
        base = f"http://127.0.0.1:{port}"
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}

        def status(method: str, path: str, host: str) -> int:
            with httpx.stream(
                method,
                base + path,
                json=body if method == "POST" else None,
                headers={"host": host, "accept": ACCEPT},
                timeout=10,
            ) as response:
                return response.status_code  # an accepted /sse stays open: the status is enough

        for path, method in (("/mcp", "POST"), ("/sse", "GET"), ("/metrics", "GET")):
            for evil in ("evil.com", f"evil.com:{port}", "evil.com@127.0.0.1", "mcp.internal:9999"):
                assert status(method, path, evil) == 403, (path, evil)
            for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"192.0.2.7:{port}", "mcp.internal:8765"):
                assert status(method, path, good) in (200, 400), (path, good)  # 400: a bare ping on /mcp
            assert status(method, path, f"tools.internal:{port}") in (200, 400), path
    finally:
        running.stop()


def test_modern_header_rules(host: HostProcess) -> None:
    with ModernClient(host.url) as client:
        body = client.body("tools/call", {"name": "echo__echo", "arguments": {"message": "m"}})
        mismatch = client.post(body, headers={"Mcp-Name": "echo__add"})
        assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
        old = client.body("tools/list")
        old["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2031-01-01"
        unsupported = client.post(old)
        assert unsupported.status_code == 400
        assert unsupported.json()["error"]["code"] == -32022
        assert "2026-07-28" in unsupported.json()["error"]["data"]["supported"]
        unknown = client.post(client.body("nothing/here"))
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == -32601
        sse = parse_sse('data: {"a": 1}\n\n')
        assert sse == [{"a": 1}]


def test_a_forwarded_for_header_does_not_change_who_the_client_is(host: HostProcess) -> None:
    """Nothing behind mcpctl trusts X-Forwarded-For: the audit trail records the real peer."""
    with ModernClient(host.url, headers={"x-forwarded-for": "203.0.113.9"}) as client:
        client.call_tool("echo__echo", {"message": "who am I"})
    trail = host.home / "logs" / "audit" / "audit.jsonl"

    def recorded() -> dict[str, object] | None:
        calls = [json.loads(line) for line in trail.read_text().splitlines() if '"tools/call"' in line]
        return calls[-1] if calls else None

    record = wait_until(recorded, message="the call's audit record")
    assert str(record["client"]).startswith("127.0.0.1:")
