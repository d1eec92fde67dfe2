"""A host with one server in crash-loop (an npx package typo): listings warn, calls exit 3, logs show why.

Also the tables of issue 13 (defects 2 and 8): names in full on a terminal, plain lines in a pipe.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Mcpctl, run_mcpctl
from tests.support.host import FIXTURES, PYTHON, HostProcess, base_env, mcpctl_command, start_host
from tests.support.waiting import interrupted, wait_until

# What `npx -y @modelcontextprotocol/server-filesytem` prints (npm 10), then it exits 1.
NPM_TYPO = """import sys
sys.stderr.write('''npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/@modelcontextprotocol%2fserver-filesytem
npm error 404
npm error 404  The requested resource '@modelcontextprotocol/server-filesytem@*' could not be found.
npm error 404
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-12-02-debug-0.log
''')
sys.exit(1)
"""
DECISIVE = "npm error 404 Not Found - GET https://registry.npmjs.org/@modelcontextprotocol%2fserver-filesytem"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    home = tmp_path_factory.mktemp("down") / "home"
    (home / "config").mkdir(parents=True)
    typo = home / "npm_typo.py"
    typo.write_text(NPM_TYPO)
    (home / "config" / "mcpctl.toml").write_text(
        f"""
[servers.demo]
command = "{PYTHON}"
args = ["-m", "mcpctl.demo"]

[servers.conformance_reference_server]
command = "{PYTHON}"
args = ["{FIXTURES / "conformance_server.py"}"]

[servers.filesystem]
command = "{PYTHON}"
args = ["{typo}"]
restart = {{ max_failures = 2, initial_backoff = "50ms", max_backoff = "100ms", crash_loop_cooldown = "1h" }}
"""
    )
    process = start_host(home, "--log-level", "warning", wait_ready=False)

    def crash_looping() -> bool:
        states = {s["name"]: s["state"] for s in process.ready()["servers"]}  # type: ignore[union-attr]
        expected = {"demo": "ready", "conformance_reference_server": "ready", "filesystem": "crash-loop"}
        return states == expected

    try:
        wait_until(crash_looping, 30, message="demo ready and filesystem in crash-loop")
        yield process
    finally:
        assert process.stop() == 0


@pytest.fixture
def run(host: HostProcess) -> Mcpctl:
    def go(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run_mcpctl(host.home, *args, **kwargs)  # type: ignore[arg-type]

    return go


def test_tools_warns_which_servers_are_down_and_why(run: Mcpctl) -> None:
    listed = run("tools")
    assert listed.returncode == 0, listed.stderr
    assert "demo__echo\t" in listed.stdout
    assert "filesystem" not in listed.stdout
    warning = f"warning: server 'filesystem' is down (crash-loop): {DECISIVE}"
    assert warning in listed.stderr
    assert "fix: see `mcpctl servers logs filesystem`" in listed.stderr


def test_a_call_to_a_down_server_s_tool_exits_3_naming_server_state_and_line(run: Mcpctl) -> None:
    called = run("call", "filesystem__read_file", "path=/etc/hostname")
    assert called.returncode == 3, called.stderr
    assert called.stderr.startswith(f"error: server 'filesystem' is down (crash-loop): {DECISIVE}\n")
    scoped = run("call", "--server", "filesystem", "read_file", "path=/etc/hostname")
    assert scoped.returncode == 3
    assert "server 'filesystem' is down (crash-loop)" in scoped.stderr
    # a name no server owns stays a usage error, with a fix that runs as printed
    missing = run("call", "nosuch")
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[1] == "  fix: `mcpctl tools` lists them"
    assert run("tools").returncode == 0


def test_servers_shows_why_and_where_the_log_is(run: Mcpctl, host: HostProcess) -> None:
    report = json.loads(run("servers", "--json").stdout)
    filesystem = next(s for s in report["servers"] if s["name"] == "filesystem")
    assert DECISIVE in filesystem["stderr"]  # the last child's lines, though it is not running
    log = Path(filesystem["log"])
    assert log == host.home / "logs" / "servers" / "filesystem.log"
    assert DECISIVE in log.read_text()
    assert filesystem["prefix"] == "filesystem"
    shown = run("servers")
    rows = shown.stdout.splitlines()
    header = ["SERVER", "STATE", "PID", "UPTIME", "RESTARTS", "BREAKER", "TOOLS", "LAST STDERR"]
    assert rows[0].split("\t") == header
    assert len(rows) == 4  # one line per server in a pipe: nothing wrapped
    fs = next(r.split("\t") for r in rows if r.startswith("filesystem\t"))
    assert fs[1] == "crash-loop"
    assert fs[-1].startswith(DECISIVE)
    assert str(log) in shown.stderr
    assert "`mcpctl servers restart filesystem`" in shown.stderr


def test_servers_logs_prints_a_server_s_stderr_and_follows_it(run: Mcpctl, host: HostProcess) -> None:
    printed = run("servers", "logs", "filesystem")
    assert printed.returncode == 0
    assert DECISIVE in printed.stdout
    assert run("servers", "logs", "filesystem", "--tail", "1").stdout.count("\n") == 1
    before = printed.stdout.count(DECISIVE)
    follow = subprocess.Popen(
        mcpctl_command("servers", "logs", "filesystem", "-f"),
        env=base_env(host.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follow.stdout is not None
    seen = 0
    try:
        # the log so far first (a loaded machine starts the follower slowly: wait for it)
        while seen < before:
            line = follow.stdout.readline()
            assert line, "the follower ended before printing the log"
            seen += line.count(DECISIVE)
        assert run("servers", "restart", "filesystem").returncode == 0  # it runs (and fails) again
        # then the restarted child's lines, through -f (pytest's timeout bounds the wait)
        while seen == before:
            line = follow.stdout.readline()
            assert line, "the follower ended before the new lines came"
            seen += line.count(DECISIVE)
    finally:
        interrupted(follow)
    assert follow.returncode == 130


def test_restart_and_logs_of_an_unknown_server_list_the_names(run: Mcpctl) -> None:
    for command in (["servers", "restart", "filesystm"], ["servers", "logs", "nosuch"]):
        refused = run(*command)
        assert refused.returncode == 2
        lines = refused.stderr.splitlines()
        assert lines[0] == f"error: no server named '{command[2]}' on the host"
        assert lines[1].startswith("  fix: servers: demo, conformance_reference_server, filesystem; e.g. `")
    suggested = re.search(r"`(mcpctl [^`]*)`", run("servers", "restart", "filesystm").stderr)
    assert suggested and suggested.group(1) == "mcpctl servers restart filesystem"


@pytest.mark.parametrize("columns", [80, 120, 160])
def test_tools_on_a_terminal_shows_every_name_in_full(run: Mcpctl, columns: int) -> None:
    names = [line.split("\t")[0] for line in run("tools").stdout.splitlines()]
    assert "conformance_reference_server__test_tool_with_progress" in names
    shown = run("tools", env={"TTY_COMPATIBLE": "1", "COLUMNS": str(columns)}).stdout
    lines = shown.splitlines()
    for name in names:
        assert any(line == name or line.startswith(name + " ") for line in lines), (name, shown)
    assert all(len(line) <= columns for line in lines)
    assert "\t" not in shown


def test_logs_stats_in_a_pipe_has_no_rules_and_its_summary_on_stdout(run: Mcpctl) -> None:
    assert run("call", "conformance_reference_server__test_simple_text").returncode == 0
    stats = run("logs", "stats")
    assert stats.returncode == 0
    lines = stats.stdout.splitlines()
    assert re.match(r"\d+ call\(s\) from .* not ok", lines[0]), stats.stdout
    assert "─" not in stats.stdout and "━" not in stats.stdout
    row = "conformance_reference_server__test_simple_text\tconformance_reference_server\t"
    assert any(line.startswith(row) for line in lines), stats.stdout
    assert stats.stderr == ""


def test_restart_without_a_host_says_to_start_one(mcpctl: Mcpctl) -> None:
    refused = mcpctl("servers", "restart", "demo")
    assert refused.returncode == 3
    assert refused.stderr.splitlines() == [
        "error: no mcpctl host is running",
        "  fix: start it with `mcpctl serve`",
    ]
    assert "--url" not in refused.stderr


def test_a_fix_names_commands_that_run_as_printed(run: Mcpctl) -> None:
    for args in (["call", "nosuch"], ["servers", "restart", "filesystm"], ["tools"]):
        stderr = run(*args).stderr
        for command in re.findall(r"`(mcpctl [^`]*)`", stderr):
            if " -f" in command or command.endswith("NAME [-f]"):
                continue  # follows forever / a template, not a command
            done = run(*shlex.split(command)[1:])
            assert done.returncode in (0, 3), (command, done.stderr)
