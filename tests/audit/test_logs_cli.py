"""`mcpctl logs` and `logs stats` over a real trail: filters, --json unchanged, plain text, exit codes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from mcpctl.audit.files import audit_files
from tests.audit.trail import Trail, call_record
from tests.support.host import ROOT, base_env, mcpctl_command


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    now = time.time()
    directory = tmp_path_factory.mktemp("logs") / "audit"
    t = Trail(directory, max_file_bytes=4096)
    t.write(
        call_record(1, ts=now - 7200, principal="alice", duration_ms=10.0),
        call_record(
            2,
            ts=now - 1800,
            principal="bob",
            server="github",
            tool="github__search",
            outcome="tool_error",
            error="rate limited upstream",
            duration_ms=30.0,
        ),
        call_record(
            3,
            ts=now - 60,
            principal="alice",
            server="github",
            tool="github__create",
            outcome="error",
            rpc_error={"code": -32603, "message": "boom"},
            error="boom",
            duration_ms=20.0,
        ),
        call_record(
            4, ts=now - 30, principal="bob", outcome="denied", error="Forbidden: not yours", duration_ms=None
        ),
        {
            "v": 1,
            "seq": 0,
            "ts": now - 20,
            "kind": "auth.failure",
            "outcome": "unauthenticated",
            "principal": None,
            "reason": "unknown API key",
            "http_status": 401,
        },
        {"v": 1, "seq": 0, "ts": now - 10, "kind": "audit.dropped", "count": 5, "first": "x", "last": "y"},
    )
    t.calls(12, start=10, ts=now - 5)  # fill a few files: listings read across rotation
    t.close()
    return directory


def logs(trail: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        mcpctl_command("logs", *args, "--dir", str(trail)),
        capture_output=True,
        text=True,
        env=base_env(trail.parent),
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == code, done.stderr
    return done


def seqs(done: subprocess.CompletedProcess[str]) -> list[int]:
    return [json.loads(line)["seq"] for line in done.stdout.splitlines()]


def test_json_prints_every_record_exactly_as_written(trail: Path) -> None:
    written = [line for path in audit_files(trail) for line in path.read_text().splitlines()]
    assert len(audit_files(trail)) > 1
    assert logs(trail, "--json").stdout.splitlines() == written


def test_filters_by_time_tool_server_principal_outcome_and_kind(trail: Path) -> None:
    assert seqs(logs(trail, "--json", "--until", "1h")) == [1]
    assert 1 not in seqs(logs(trail, "--json", "--since", "1h"))
    assert seqs(logs(trail, "--json", "--tool", "github__*")) == [2, 3]
    assert seqs(logs(trail, "--json", "--server", "github", "--principal", "ali*")) == [3]
    assert seqs(logs(trail, "--json", "--errors", "--kind", "tools/call")) == [2, 3, 4]
    assert seqs(logs(trail, "--json", "--errors")) == [2, 3, 4, 5]
    assert seqs(logs(trail, "--json", "--outcome", "tool_error,denied")) == [2, 4]
    assert seqs(logs(trail, "--json", "--kind", "auth.*")) == [5]
    assert seqs(logs(trail, "--json", "--limit", "2")) == [17, 18]
    assert seqs(logs(trail, "--json", "--since", "2026-01-01T00:00:00Z", "--limit", "1")) == [18]


def test_plain_text_when_not_a_terminal(trail: Path) -> None:
    out = logs(trail, "--errors").stdout
    assert "\x1b[" not in out
    lines = out.splitlines()
    assert len(lines) == 4
    assert "tool_error" in lines[0]
    assert "github__search" in lines[0]
    assert "rate limited upstream" in lines[0]
    assert "auth.failure" in lines[3]
    assert "unknown API key" in lines[3]


def test_colour_on_a_terminal_and_none_with_no_color(trail: Path) -> None:
    env = {k: v for k, v in base_env(trail.parent).items() if k != "NO_COLOR"}
    command = mcpctl_command("logs", "--errors", "--dir", str(trail))
    coloured = pexpect.run(
        command[0],
        args=command[1:],
        env={**env, "TERM": "xterm-256color"},
        cwd=str(ROOT),
        timeout=30,
        encoding="utf-8",
    )
    assert "\x1b[" in coloured
    assert "tool_error" in coloured
    plain = pexpect.run(
        command[0],
        args=command[1:],
        env={**env, "NO_COLOR": "1", "TERM": "xterm-256color"},
        cwd=str(ROOT),
        timeout=30,
        encoding="utf-8",
    )
    assert "\x1b[" not in plain
    assert "tool_error" in plain


def test_stats_per_tool_and_per_principal(trail: Path) -> None:
    figures = json.loads(logs(trail, "stats", "--json").stdout)
    assert (figures["calls"], figures["errors"], figures["dropped"]) == (16, 3, 5)
    tools = {row["tool"]: row for row in figures["by_tool"]}
    assert tools["github__search"]["error_rate"] == 1.0
    assert tools["echo__echo"]["calls"] == 14
    people = {row["principal"]: row for row in figures["by_principal"]}
    assert (people["bob"]["calls"], people["bob"]["errors"]) == (2, 2)
    assert people["bob"]["p50_ms"] == people["bob"]["p95_ms"] == 30.0  # the refusal took no measured time
    recent = json.loads(logs(trail, "stats", "--since", "1h", "--json").stdout)
    assert recent["calls"] == 15
    text = logs(trail, "stats").stdout
    assert "by tool" in text
    assert "github__search" in text
    assert "100.0%" in text


def test_usage_errors_exit_2_and_an_empty_directory_is_not_an_error(trail: Path, tmp_path: Path) -> None:
    assert "neither a duration" in logs(trail, "--since", "yesterday", code=2).stderr
    assert "unknown outcome" in logs(trail, "--outcome", "fine", code=2).stderr
    empty = logs(tmp_path / "nothing-here")
    assert empty.stdout == ""
    assert "no audit trail" in empty.stderr
