"""`${keyring:NAME}` in a server's env: resolved from the real keyring when the child starts, never leaked."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.auth.conftest import Cli, audit_records, every_file_text
from tests.auth.gateway import digest, json_text, serving, write_config
from tests.support.host import base_env, mcpctl_command
from tests.support.mcp_http import ModernClient
from tests.support.secret_service import without_keyring
from tests.support.waiting import wait_until

SECRET = "ghp_TheValueNobodyMaySee_0123456789abcdef"


def server_status(base_url: str, admin_token: str, name: str) -> dict[str, Any]:
    report = httpx.get(f"{base_url}/admin/servers", headers={"authorization": f"Bearer {admin_token}"}).json()
    return next(s for s in report["servers"] if s["name"] == name)  # type: ignore[no-any-return]


def test_a_secret_reaches_the_child_and_nothing_else(cli: Cli) -> None:
    cli.run("secrets", "set", "github_token", stdin=SECRET)
    env = {"GITHUB_TOKEN": "${keyring:github_token}", "AUTH_HEADER": "Bearer ${keyring:github_token}"}
    write_config(cli.home, probe_env=env)
    with serving(cli) as host:
        with ModernClient(host.url) as client:
            digests = json_text(client.call_tool("probe__environment"))
        assert digests["GITHUB_TOKEN"] == digest(SECRET)
        assert digests["AUTH_HEADER"] == digest(f"Bearer {SECRET}")
        ready = httpx.get(host.base_url + "/ready").text
        admin = httpx.get(
            f"{host.base_url}/admin/servers", headers={"authorization": f"Bearer {host.admin_token}"}
        ).text
        log = host.output()
    for seen in (ready, admin, log, every_file_text(cli.home)):
        assert SECRET not in seen


def test_a_missing_secret_names_itself_and_its_fix_and_is_picked_up_when_set(cli: Cli) -> None:
    write_config(cli.home, probe_env={"GITHUB_TOKEN": "${keyring:github_token}"})
    with serving(cli, wait_ready=False) as host:

        def problem() -> str:
            return str(server_status(host.base_url, host.admin_token, "probe")["lastError"] or "")

        error = wait_until(problem, 10, message="the probe server to report its missing secret")
        assert "needs the secret 'github_token', which is not set" in error
        assert "mcpctl secrets set github_token" in error

        def echo_ready() -> bool:
            return bool(server_status(host.base_url, host.admin_token, "echo")["state"] == "ready")

        wait_until(echo_ready, 10, message="the other server to run regardless")

        cli.run("secrets", "set", "github_token", stdin=SECRET)  # while the gateway runs
        wait_until(lambda: host.ready()["ready"], 20, message="the probe server to start with its secret")
        with ModernClient(host.url) as client:
            assert json_text(client.call_tool("probe__environment"))["GITHUB_TOKEN"] == digest(SECRET)
        log = host.output()
    assert "github_token" in log
    assert SECRET not in log
    assert SECRET not in every_file_text(cli.home)


def test_serve_refuses_to_start_without_a_keyring_when_secrets_are_referenced(
    home: Path, tmp_path: Path
) -> None:
    env = without_keyring(tmp_path / "xdg", base_env(home))
    cli = Cli(home, env)
    write_config(home, probe_env={"GITHUB_TOKEN": "${keyring:github_token}"})
    command = mcpctl_command("serve", "--port", "0")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 3, done.stderr
    assert "no usable OS keyring" in done.stderr
    assert "dbus-run-session" in done.stderr
    assert cli.home.exists()


def test_a_secret_the_child_echoes_is_redacted_wherever_mcpctl_writes_or_serves_text(cli: Cli) -> None:
    cli.run("secrets", "set", "github_token", stdin=SECRET)
    write_config(cli.home, probe_env={"GITHUB_TOKEN": "${keyring:github_token}"})
    home = cli.home
    with serving(cli) as host:
        with ModernClient(host.url) as client:
            for kind in ("output", "tool_error", "error"):
                # the caller asked the tool for it and gets what the tool answers: that is the tool's
                # business; what mcpctl itself keeps and shows is not
                client.request(
                    "tools/call", {"name": "probe__leak", "arguments": {"name": "GITHUB_TOKEN", "as": kind}}
                )

        def calls() -> list[dict[str, Any]] | None:
            found = [r for r in audit_records(home) if r.get("tool") == "probe__leak"]
            return found if len(found) == 3 else None

        records = wait_until(calls, 10, message="the three calls' audit records")
        server_log = home / "logs" / "servers" / "probe.log"
        wait_until(lambda: server_log.exists() and "debug: GITHUB_TOKEN=" in server_log.read_text())
        admin = httpx.get(
            f"{host.base_url}/admin/servers", headers={"authorization": f"Bearer {host.admin_token}"}
        ).text
        servers_json = cli.run("servers", "--json").stdout
        tail = server_status(host.base_url, host.admin_token, "probe")["stderr"]
    assert "debug: GITHUB_TOKEN=[REDACTED]" in tail
    assert "debug: GITHUB_TOKEN=[REDACTED]" in server_log.read_text()
    assert "GITHUB_TOKEN is [REDACTED]" in json.dumps(records)
    for seen in (json.dumps(records), server_log.read_text(), admin, servers_json, host.output()):
        assert SECRET not in seen
    assert SECRET not in every_file_text(home)
    # mcpctl's own files and directories are the user's alone
    mcpctl_made = [home / d for d in ("logs", "state", "run", "data") if (home / d).exists()]
    for root in mcpctl_made:
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            expected = 0o700 if path.is_dir() else 0o600
            assert mode == expected, f"{path}: {oct(mode)}"
