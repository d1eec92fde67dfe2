"""A JSON-RPC id of hundreds of digits is recorded, verified, listed and counted like any other."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mcpctl.audit.verify import verify
from tests.audit.hosting import audit_dir, hosting, server
from tests.support.host import ROOT, base_env, mcpctl_command
from tests.support.mcp_http import ModernClient, messages_of

# Past a double's range (309 digits and more), where orjson refuses to read the line back.
HUGE = 10**310 + 7


def logs(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        mcpctl_command("logs", *args),
        capture_output=True,
        text=True,
        env=base_env(home),
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_huge_integer_id_leaves_a_record_that_verifies_and_is_listed(home: Path) -> None:
    with hosting(home, {"echo": server("echo.py")}) as host, ModernClient(host.url) as client:
        body = client.body("tools/call", {"name": "echo__echo", "arguments": {"message": "huge"}})
        body["id"] = HUGE
        (answer,) = messages_of(client.post(body))
        assert answer["id"] == HUGE
        client.call_tool("echo__echo", {"message": "small"})

    report = verify(audit_dir(home))
    assert report.ok, report.problems
    assert (report.records, report.first_seq, report.last_seq) == (2, 1, 2)
    assert not report.notes

    listed = [json.loads(line) for line in logs(home, "--json").stdout.splitlines()]
    assert [r["rpc_id"] for r in listed] == [HUGE, 2]
    assert [r["arguments"]["message"] for r in listed] == ["huge", "small"]
    assert logs(home, "verify").returncode == 0
    assert json.loads(logs(home, "stats", "--json").stdout)["calls"] == 2
    plain = logs(home).stdout.splitlines()
    assert len(plain) == 2
    assert '"huge"' in plain[0]
