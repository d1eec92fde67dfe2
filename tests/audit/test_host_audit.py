"""The audit trail of a real host: one complete, redacted record per call, whatever happens to it."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from mcpctl.audit.verify import verify
from tests.audit.hosting import audit_dir, calls, hosting, server, trail
from tests.support.mcp_http import LegacyClient, ModernClient

SECRET = "hunter2-correct-horse-battery"
TOKEN = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"  # a GitHub token shape: caught by pattern, any key
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_a_secret_passed_as_an_argument_never_reaches_the_file(home: Path) -> None:
    audit = {"redact_keys": ["x-tenant"], "redact_patterns": [r"acct-\d{6}"]}
    with hosting(home, {"echo": server("echo.py")}, audit=audit) as host:
        with ModernClient(host.url) as client:
            client.call_tool("echo__echo", {"message": "hi", "password": SECRET})
            # echo returns its message: the secret is in the arguments *and* in the output
            client.call_tool("echo__echo", {"message": f"use {TOKEN} for acct-123456"})
            client.call_tool(
                "echo__echo",
                {"message": "x", "headers": {"X-Tenant": SECRET, "Authorization": f"Bearer {TOKEN}"}},
            )
        with LegacyClient(host.url) as legacy:
            legacy.call_tool("echo__echo", {"message": "y", "client_secret": SECRET})
    raw = b"".join(p.read_bytes() for p in audit_dir(home).iterdir())
    for secret in (SECRET, TOKEN, "acct-123456"):
        assert secret.encode() not in raw
    records = calls(home)
    assert len(records) == 4
    assert records[0]["arguments"] == {"message": "hi", "password": "[REDACTED]"}
    assert records[1]["arguments"] == {"message": "use [REDACTED] for [REDACTED]"}
    assert records[1]["output"]["content"][0]["text"] == "use [REDACTED] for [REDACTED]"
    assert records[2]["arguments"]["headers"] == {"X-Tenant": "[REDACTED]", "Authorization": "[REDACTED]"}
    assert records[3]["arguments"]["client_secret"] == "[REDACTED]"


def test_each_call_record_carries_the_whole_schema_at_all_three_layers(home: Path) -> None:
    with hosting(home, {"echo": server("echo.py")}) as host:
        with ModernClient(host.url, headers={"user-agent": "audit-test/1"}) as client:
            client.call_tool("echo__add", {"a": 2, "b": 3})
            client.request("tools/call", {"name": "echo__fail", "arguments": {}})
            client.request("tools/call", {"name": "echo__boom", "arguments": {}})
            client.request("tools/call", {"name": "echo__nope", "arguments": {}})
            client.result("resources/read", {"uri": "fixture://echo/readme"})
            client.result("prompts/get", {"name": "echo__greeting", "arguments": {"name": "ada"}})
        with LegacyClient(host.url) as legacy:
            legacy.call_tool("echo__echo", {"message": "legacy"})
            session = legacy.session_id
    ok, tool_error, error, unknown, resource, prompt, old = calls(home)
    for record in (ok, tool_error, error, unknown, resource, prompt, old):
        assert record["v"] == 1
        assert STAMP.match(record["ts"])
        assert record["principal"] == "anonymous"
        assert re.match(r"^127\.0\.0\.1:\d+$", record["client"])
        assert len(record["prev"]) == len(record["hash"]) == 64
    assert ok["user_agent"] == "audit-test/1"
    assert (ok["kind"], ok["outcome"], ok["era"], ok["session"], ok["server"], ok["tool"]) == (
        "tools/call",
        "ok",
        "modern",
        None,
        "echo",
        "echo__add",
    )
    assert ok["request_id"]
    assert ok["protocol_version"] == "2026-07-28"
    assert (ok["http_status"], ok["rpc_error"], ok["is_error"]) == (200, None, False)
    assert ok["output"]["structuredContent"] == {"sum": 5}
    assert ok["duration_ms"] > 0
    assert (tool_error["outcome"], tool_error["is_error"], tool_error["http_status"]) == (
        "tool_error",
        True,
        200,
    )
    assert tool_error["error"] == "fail: this tool always fails"
    assert (error["outcome"], error["rpc_error"]["code"], error["is_error"]) == ("error", -32603, None)
    assert error["error"].startswith("boom")
    assert (unknown["outcome"], unknown["server"], unknown["rpc_error"]["code"]) == (
        "not_found",
        None,
        -32602,
    )
    assert (resource["kind"], resource["tool"], resource["outcome"]) == (
        "resources/read",
        "fixture://echo/readme",
        "ok",
    )
    assert (prompt["kind"], prompt["arguments"]) == ("prompts/get", {"name": "ada"})
    assert (old["era"], old["session"], old["protocol_version"]) == ("legacy", session, "2025-11-25")
    assert verify(audit_dir(home)).ok


def test_a_large_output_is_summarised_within_its_budget(home: Path) -> None:
    audit = {"output_summary_bytes": 256}
    with hosting(home, {"huge": server("huge.py")}, audit=audit) as host, ModernClient(host.url) as client:
        text = client.call_tool("huge__blob", {"size": 2_000_000})["content"][0]["text"]
        assert len(text) == 2_000_000
    (record,) = calls(home)
    assert record["truncated"] is True
    assert len(record["output"]["content"][0]["text"]) <= 257
    assert sum(len(line) for line in (audit_dir(home) / "audit.jsonl").read_bytes().splitlines()) < 2000


def test_every_call_is_counted_once_under_load_with_failures_and_child_crashes(home: Path) -> None:
    servers = {
        "echo": server("echo.py"),
        # answers 3 calls, then exits mid-call on the next; the supervisor restarts it (quickly)
        "crashy": server(
            "crashing.py", "--crash-after", "3", restart={"initial_backoff": "50ms", "max_failures": 1000}
        ),
    }
    plan = [
        ("echo__echo", {"message": "m"}),
        ("echo__fail", {}),
        ("echo__boom", {}),
        ("echo__missing", {}),
        ("crashy__echo", {"message": "c"}),
        ("crashy__crash", {}),
    ]
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(n: int) -> None:
        with ModernClient(url) as client:
            for i in range(30):
                name, args = plan[(n + i) % len(plan)]
                final = client.request("tools/call", {"name": name, "arguments": args})[-1]
                with lock:
                    seen["answered"] += 1
                    seen["error" if "error" in final else "result"] += 1

    with hosting(home, servers) as host:
        url = host.url
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    records = calls(home)
    assert len(records) == seen["answered"] == 240
    outcomes = Counter(r["outcome"] for r in records)
    assert outcomes["ok"] >= 40
    assert outcomes["tool_error"] == 40
    assert outcomes["not_found"] == 40
    # boom, crashes, calls while the child restarts, and calls the open breaker refused
    assert outcomes["error"] + outcomes["unavailable"] + outcomes["breaker_open"] >= 80, outcomes
    assert sum(1 for r in records if r["rpc_error"] is not None) == seen["error"]
    report = verify(audit_dir(home))
    assert report.ok, report.problems
    assert report.dropped == 0


def test_with_audit_off_nothing_is_written(home: Path) -> None:
    with (
        hosting(home, {"echo": server("echo.py")}, audit={"enabled": False}) as host,
        ModernClient(host.url) as client,
    ):
        client.call_tool("echo__echo", {"message": "m"})
    assert not audit_dir(home).exists()


def test_the_trail_continues_across_host_restarts(home: Path) -> None:
    for _ in range(2):
        with hosting(home, {"echo": server("echo.py")}) as host, ModernClient(host.url) as client:
            client.call_tool("echo__echo", {"message": "m"})
    records: list[dict[str, Any]] = trail(home)
    assert [r["seq"] for r in records] == [1, 2]
    assert records[1]["prev"] == records[0]["hash"]
