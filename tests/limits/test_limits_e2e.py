"""Rate limits through a real host: exactly the calls over a limit are refused, saying which limit
and when to retry; HTTP-level limits refuse whole requests with 429 and Retry-After."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from mcpctl.protocol import codes
from tests.limits.hosting import serve_config, stdio_server
from tests.support.host import fixture
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.waiting import wait_until


def audit_records(home: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(home.rglob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line
    ]


def outcome(reply: dict[str, object]) -> str:
    """ok, or the scope of the limit that refused the call."""
    if "result" in reply:
        return "ok"
    error = reply["error"]
    assert isinstance(error, dict), reply
    assert error["code"] == codes.RATE_LIMITED, reply
    return str(error["data"]["limit"]["scope"])


def test_limits_refuse_exactly_what_exceeds_them(home: Path) -> None:
    config = {
        "servers": {"echo": stdio_server(fixture("echo.py"))},
        "limits": {
            "rules": [
                {"scope": "tool", "match": "echo__echo", "requests": 3, "per": "1h"},
                {"scope": "server", "match": "echo", "requests": 5, "per": "1h"},
                {
                    "scope": "principal",
                    "match": "nobody-*",
                    "requests": 1,
                    "per": "1h",
                },  # matches no one here
            ]
        },
    }
    host = serve_config(home, config)
    try:
        with ModernClient(host.url) as client:
            echo_call = {"name": "echo__echo", "arguments": {"message": "m"}}
            echo = [outcome(client.request("tools/call", echo_call)[-1]) for _ in range(4)]
            assert echo == ["ok", "ok", "ok", "tool"]
            # the refused call took no token from the server's bucket: 3 of its 5 are used
            add_call = {"name": "echo__add", "arguments": {"a": 1, "b": 2}}
            add = [outcome(client.request("tools/call", add_call)[-1]) for _ in range(3)]
            assert add == ["ok", "ok", "server"]
            # a server limit covers every kind of call to it, not just tools
            refused = client.request("prompts/get", {"name": "echo__greeting", "arguments": {"name": "bob"}})[
                -1
            ]
            assert outcome(refused) == "server"
            error = refused["error"]
            limit = {
                "scope": "server",
                "match": "echo",
                "subject": "echo",
                "requests": 5,
                "per": 3600.0,
                "burst": 5,
            }
            assert error["data"]["limit"] == {**limit, "level": "call"}
            assert 715 < error["data"]["retryAfter"] <= 720  # one token of 5 per hour
            assert "5 calls per 1h for server 'echo'" in error["message"]
            # lists are not calls: never limited
            assert len(client.result("tools/list")["tools"]) > 0
    finally:
        assert host.stop() == 0
    # each refusal is in the audit trail once (the audit part records every refused call)
    refused = [r for r in audit_records(home) if r.get("outcome") == "rate_limited"]
    assert [(r["kind"], r["tool"]) for r in refused] == [
        ("tools/call", "echo__echo"),
        ("tools/call", "echo__add"),
        ("prompts/get", "echo__greeting"),
    ]


def test_retry_after_tells_the_truth(home: Path) -> None:
    """With real time: the first call admitted after a refusal comes no sooner than retryAfter said."""
    config = {
        "servers": {"echo": stdio_server(fixture("echo.py"))},
        "limits": {"rules": [{"scope": "principal", "requests": 2, "per": "4s"}]},  # one every 2 s
    }
    host = serve_config(home, config)
    try:
        with LegacyClient(host.url) as client:  # a session: the principal (anonymous) is the same
            call = {"name": "echo__echo", "arguments": {"message": "m"}}
            assert [outcome(client.request("tools/call", call)[-1]) for _ in range(2)] == ["ok", "ok"]
            refused = client.request("tools/call", call)[-1]
            refused_at = time.monotonic()
            assert outcome(refused) == "principal"
            retry_after = refused["error"]["data"]["retryAfter"]
            assert 1.0 < retry_after <= 2.0
            # refused polls take no tokens, so polling does not push the time back
            wait_until(
                lambda: "result" in client.request("tools/call", call)[-1], 5, message="admitted again"
            )
            waited = time.monotonic() - refused_at
            assert retry_after - 0.05 <= waited <= retry_after + 1.0
    finally:
        assert host.stop() == 0


def test_http_limits_refuse_whole_requests_with_429(home: Path) -> None:
    config = {
        "servers": {"echo": stdio_server(fixture("echo.py"))},
        "limits": {"rules": [{"scope": "global", "requests": 4, "per": "1h", "level": "http"}]},
    }
    host = serve_config(home, config)
    try:
        client = LegacyClient(host.url)
        client.initialize()  # two requests: initialize, notifications/initialized
        for _ in range(2):
            assert client.call_tool("echo__echo", {"message": "m"})["content"][0]["text"] == "m"
        # probes and scrapes are never counted
        for path in ("/health", "/ready", "/metrics"):
            assert httpx.get(host.base_url + path).status_code == 200
        refused = client.post({"jsonrpc": "2.0", "id": 99, "method": "tools/list"})
        assert refused.status_code == 429
        assert 895 < int(refused.headers["retry-after"]) <= 900  # one token of 4 per hour
        body = refused.json()
        assert body["id"] is None
        assert body["error"]["code"] == codes.RATE_LIMITED
        assert body["error"]["data"]["limit"]["level"] == "http"
        with ModernClient(host.url) as modern:  # the global bucket is everyone's
            assert modern.post(modern.body("tools/list")).status_code == 429
        # ending a session is never refused: it frees resources
        assert (
            client.http.delete(host.url, headers={"mcp-session-id": client.session_id or ""}).status_code
            == 200
        )
        client.http.close()
    finally:
        assert host.stop() == 0
