"""Client commands through a real `mcpctl serve` with fixture servers: the default target."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.conftest import Mcpctl, write_host_config
from tests.support.host import HostProcess, base_env, mcpctl_command
from tests.support.waiting import interrupted, wait_until


def test_tools_lists_every_server_s_tools_with_descriptions(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    done = host_mcpctl("tools")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("\t", 1) for line in done.stdout.splitlines())
    assert lines["echo__echo"] == "Return the message unchanged."
    assert "slow__sleep" in lines
    assert "conf__test_image_content" in lines
    listed = json.loads(host_mcpctl("tools", "--json").stdout)
    assert {"echo__add", "slow__log"} <= {t["name"] for t in listed}
    schema = host_mcpctl("tools", "--schema").stdout
    assert '"required": [\n    "a",\n    "b"\n  ]' in schema


def test_call_goes_through_the_running_host(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    assert host_mcpctl("call", "echo__echo", "message=via host").stdout == "via host\n"
    unknown = host_mcpctl("call", "echo", "message=x")
    assert unknown.returncode == 2
    assert "did you mean echo__echo" in unknown.stderr


def test_a_server_by_name_uses_its_own_tool_names_through_the_host(
    host: HostProcess, host_mcpctl: Mcpctl
) -> None:
    done = host_mcpctl("call", "--server", "echo", "echo", "message=scoped")
    assert done.stdout == "scoped\n", done.stderr
    names = [
        line.split("\t")[0] for line in host_mcpctl("tools", "--server", "conformance").stdout.splitlines()
    ]
    assert "test_image_content" in names
    assert not any(n.startswith(("echo", "conf__")) for n in names)
    unknown = host_mcpctl("call", "--server", "ech", "echo")
    assert unknown.returncode == 2
    assert "no server named 'ech'" in unknown.stderr
    assert "did you mean echo" in unknown.stderr


def test_progress_and_elicitation_are_relayed_by_the_host(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    slept = host_mcpctl("call", "slow__sleep", "seconds=1.2", "steps=4")
    assert slept.stdout == "slept\n"
    assert "progress: 25% step 1 of 4" in slept.stderr
    # a 2026-07-28 server's input_required round, relayed as an elicitation request to our session
    elicited = host_mcpctl("call", "conf__test_elicitation_sep1034_defaults", "--yes")
    assert elicited.returncode == 0, elicited.stderr
    assert '"name": "John Doe"' in elicited.stdout
    refused = host_mcpctl("call", "conf__test_elicitation", "message=Who?")
    assert refused.returncode == 2
    assert "asked for input ('Who?'), but stdin is not a terminal" in refused.stderr


def test_prompts_and_resources(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    assert "echo__greeting name" in host_mcpctl("prompts").stdout
    assert host_mcpctl("prompt", "echo__greeting", "name=Ann").stdout == "[user]\nHello, Ann!\n"
    missing = host_mcpctl("prompt", "echo__greting", "name=Ann")
    assert missing.returncode == 2
    assert "did you mean echo__greeting" in missing.stderr
    listed = host_mcpctl("resources").stdout
    assert "fixture://echo/readme" in listed
    assert "fixture://echo/items/{id}" in listed
    assert host_mcpctl("read", "fixture://echo/items/7").stdout == "item 7\n"
    assert (
        json.loads(host_mcpctl("read", "fixture://echo/readme", "--json").stdout)["contents"][0]["uri"]
        == "fixture://echo/readme"
    )


def test_servers_shows_state_pid_uptime_restarts_and_tools(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    report = json.loads(host_mcpctl("servers", "--json").stdout)
    assert report["host"]["pid"] == host.proc.pid
    by_name = {s["name"]: s for s in report["servers"]}
    assert set(by_name) == {"echo", "slow", "conformance"}
    assert by_name["echo"]["state"] == "ready"
    assert by_name["echo"]["tools"] == 8
    table = host_mcpctl("servers").stdout.splitlines()
    assert table[0].split() == [
        "SERVER",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "BREAKER",
        "TOOLS",
        "LAST",
        "STDERR",
    ]
    echo = next(line.split() for line in table if line.startswith("echo"))
    assert echo[:3] == ["echo", "ready", str(by_name["echo"]["pid"])]


def test_servers_restart_restarts_one_server(host: HostProcess, host_mcpctl: Mcpctl) -> None:
    before = {s["name"]: s for s in json.loads(host_mcpctl("servers", "--json").stdout)["servers"]}
    done = host_mcpctl("servers", "restart", "echo")
    assert done.returncode == 0
    assert "restarting echo" in done.stderr

    def restarted() -> bool:
        now = {s["name"]: s for s in json.loads(host_mcpctl("servers", "--json").stdout)["servers"]}
        return now["echo"]["state"] == "ready" and now["echo"]["pid"] not in (None, before["echo"]["pid"])

    wait_until(restarted, 20, message="echo restarted with a new pid")
    unknown = host_mcpctl("servers", "restart", "nope")
    assert unknown.returncode == 2
    assert "no server named 'nope'" in unknown.stderr


def test_ctrl_c_through_the_host_cancels_at_the_backend(host: HostProcess) -> None:
    proc = subprocess.Popen(
        mcpctl_command("call", "slow__sleep", "seconds=60", "steps=600"),
        env=base_env(host.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("progress:")
    interrupted(proc)
    assert proc.returncode == 130
    log = host.home / "cancel.log"
    wait_until(log.exists, 10, message="the backend logs the cancellation")


def test_without_a_host_servers_lists_the_configuration(home: Path, mcpctl: Mcpctl) -> None:
    write_host_config(home)
    done = mcpctl("servers")
    assert "no mcpctl host is running" in done.stderr
    assert [line.split()[:3] for line in done.stdout.splitlines()[1:]] == [
        ["echo", "not", "running"],
        ["slow", "not", "running"],
        ["conformance", "not", "running"],
    ]
    assert json.loads(mcpctl("servers", "--json").stdout)["host"] is None
    assert mcpctl("servers", "restart", "echo").returncode == 3


def test_without_a_host_a_configured_server_is_started_directly(home: Path, mcpctl: Mcpctl) -> None:
    write_host_config(home)
    assert mcpctl("call", "--server", "echo", "echo", "message=direct").stdout == "direct\n"
    assert "sleep\t" in mcpctl("tools", "--server", "slow").stdout
    missing = mcpctl("call", "--server", "nope", "echo")
    assert missing.returncode == 2
    assert "configured servers: conformance, echo, slow" in missing.stderr
