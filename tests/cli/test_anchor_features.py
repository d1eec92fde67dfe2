"""What people expect from the tools they already use (issue 13): a tool's own --help, argument-name
completion, httpie's key=@file, a raw request (the Inspector's --method), `auth login` (gh)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.conftest import Mcpctl
from tests.cli.test_completions import complete_bash
from tests.support.host import HostProcess, base_env, mcpctl_command
from tests.support.waiting import interrupted


def test_call_tool_help_shows_the_tool_s_arguments_from_its_schema(host_mcpctl: Mcpctl) -> None:
    shown = host_mcpctl("call", "echo__add", "--help")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Usage: mcpctl call [OPTIONS] echo__add a=NUMBER b=NUMBER"
    assert "Arguments (from the tool's input schema):" in lines
    assert any(line.split() == ["a=NUMBER", "[required]"] for line in lines), shown.stdout
    assert lines[-1] == "Options (target, output, timeouts): see `mcpctl call --help`."
    # through --server, the server's own names; the options' help stays `mcpctl call --help`
    scoped = host_mcpctl("call", "--server", "echo", "echo", "-h")
    assert scoped.stdout.startswith("Usage: mcpctl call [OPTIONS] echo message=TEXT\n")
    assert "see `mcpctl call --help --server echo`" in scoped.stdout
    assert host_mcpctl("call", "--help").stdout.startswith("Usage: mcpctl call [OPTIONS] TOOL")
    missing = host_mcpctl("call", "echo__nosuch", "--help")
    assert missing.returncode == 2
    assert "no tool named 'echo__nosuch'" in missing.stderr


def test_argument_names_complete_after_the_tool_name(host: HostProcess) -> None:
    assert complete_bash(host.home, "mcpctl call echo__add ") == ["a=", "b="]
    assert complete_bash(host.home, "mcpctl call echo__add a=1 ") == ["b="]
    assert complete_bash(host.home, "mcpctl call echo__echo m") == ["message="]
    assert complete_bash(host.home, "mcpctl call --server echo add b") == ["b="]


def test_values_come_from_files_as_in_httpie(host_mcpctl: Mcpctl, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("from a file\n")
    numbers = tmp_path / "b.json"
    numbers.write_text("2.5")
    assert host_mcpctl("call", "echo__echo", f"message=@{note}").stdout == "from a file\n"
    assert host_mcpctl("call", "echo__add", "a=1", f"b:=@{numbers}").stdout == "3.5\n"
    missing = host_mcpctl("call", "echo__echo", f"message=@{tmp_path / 'nope'}")
    assert missing.returncode == 2
    assert "argument message: cannot read" in missing.stderr


def test_request_sends_what_has_no_command(host_mcpctl: Mcpctl) -> None:
    assert json.loads(host_mcpctl("request", "ping").stdout) == {}
    assert host_mcpctl("request", "logging/setLevel", "level=debug").returncode == 0
    listed = json.loads(host_mcpctl("request", "prompts/list").stdout)
    assert "echo__greeting" in [p["name"] for p in listed["prompts"]]
    completion = host_mcpctl(
        "request",
        "completion/complete",
        'ref:={"type": "ref/prompt", "name": "echo__greeting"}',
        'argument:={"name": "name", "value": "A"}',
    )
    assert completion.returncode == 0, completion.stderr
    assert "completion" in json.loads(completion.stdout)
    unknown = host_mcpctl("request", "nosuch/method")
    assert unknown.returncode == 2
    assert "Method not found" in unknown.stderr


def test_request_follow_prints_what_a_subscription_sends(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    follow = subprocess.Popen(
        mcpctl_command("request", "resources/subscribe", "uri=fixture://echo/readme", "--follow"),
        env=base_env(host.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "{}\n"  # the subscription's result, then what follows
        touched = host_mcpctl("call", "echo__touch", "uri=fixture://echo/readme")
        assert touched.returncode == 0, touched.stderr
        line = follow.stdout.readline()
        assert json.loads(line) == {
            "jsonrpc": "2.0",
            "method": "notifications/resources/updated",
            "params": {"uri": "fixture://echo/readme"},
        }
    finally:
        _, err = interrupted(follow, 30)
    assert follow.returncode == 130
    assert "Traceback" not in err


def test_auth_login_is_login_and_status_fails_without_one(mcpctl: Mcpctl) -> None:
    for command in (["login", "not-a-url"], ["auth", "login", "not-a-url"], ["logout", "ftp://x"]):
        refused = mcpctl(*command)
        assert refused.returncode == 2, (command, refused.stderr)
        assert "is not an http:// or https:// URL" in refused.stderr
    assert mcpctl("auth", "login", "--help").stdout.startswith("Usage: mcpctl auth login [OPTIONS] URL")
    status = mcpctl("auth", "status")
    assert status.returncode == 1
    assert status.stderr == "no logins (sign in with `mcpctl login URL`)\n"
    as_json = mcpctl("auth", "status", "--json")
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, [])  # the list is the answer
