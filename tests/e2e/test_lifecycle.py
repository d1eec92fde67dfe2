"""Lifecycle: graceful shutdown with calls in flight, forced shutdown, per-session children, restarts."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psutil

from tests.e2e.conftest import Launch
from tests.support.host import (
    admin,
    base_env,
    fixture,
    mcpctl_command,
    server_status,
    start_host,
    write_config,
)
from tests.support.mcp_http import LegacyClient, StreamingCall
from tests.support.waiting import wait_until

SLOW = """
[servers.slow]
command = "{python}"
args = ["{fixtures}/slow.py"]
"""


def test_sigterm_lets_calls_in_flight_finish(home: Path, launch: Launch) -> None:
    host = launch(home, "--config", str(write_config(home, SLOW)))
    call = StreamingCall(host.url, "slow__sleep", {"seconds": 1.5, "steps": 5})
    assert call.progressed.wait(20), "the call reached the child"
    host.proc.send_signal(signal.SIGTERM)
    final = call.join()
    assert final["result"]["content"][0]["text"] == "slept"
    assert host.proc.wait(20) == 0


def test_kept_alive_connections_between_calls_do_not_hold_up_the_shutdown(home: Path, launch: Launch) -> None:
    host = launch(home, "--config", str(write_config(home, SLOW)))
    clients = [LegacyClient(host.url) for _ in range(3)]
    try:
        for client in clients:  # each keeps its connection open, idle between calls
            client.initialize()
            for _ in range(3):
                assert client.call_tool("slow__sleep", {"seconds": 0})["content"][0]["text"] == "slept"
        started = time.monotonic()
        host.proc.send_signal(signal.SIGTERM)
        assert host.proc.wait(20) == 0
        assert time.monotonic() - started < 10
        assert "forcing shutdown" not in host.output()
    finally:
        for client in clients:
            client.http.close()


def test_a_second_signal_forces_the_shutdown(home: Path, launch: Launch) -> None:
    host = launch(home, "--config", str(write_config(home, SLOW)))
    children = psutil.Process(host.proc.pid).children(recursive=True)
    call = StreamingCall(host.url, "slow__sleep", {"seconds": 60, "steps": 60})
    assert call.progressed.wait(20)
    host.proc.send_signal(signal.SIGINT)
    wait_until(lambda: "shutting down" in host.output(), message="the first signal to register")
    started = time.monotonic()
    host.proc.send_signal(signal.SIGINT)
    host.proc.wait(15)
    assert time.monotonic() - started < 10
    assert "forcing shutdown" in host.output()
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive


def test_per_session_children_start_with_their_session_and_end_with_it(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.private]
command = "{python}"
args = ["{fixtures}/echo.py"]
isolation = "session"
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        parent = psutil.Process(host.proc.pid)
        baseline = {p.pid for p in parent.children()}
        first, second = LegacyClient(host.url), LegacyClient(host.url)
        for client in (first, second):
            client.initialize()
            assert client.call_tool("private__echo", {"message": "mine"})["content"][0]["text"] == "mine"
        assert server_status(host, "private")["sessions"] == 2
        per_session = {p.pid for p in parent.children()} - baseline
        assert len(per_session) == 2
        first.__exit__()  # DELETE: that session's child goes with it
        wait_until(lambda: server_status(host, "private")["sessions"] == 1)
        wait_until(
            lambda: sum(psutil.pid_exists(pid) for pid in per_session) == 1, message="one child stopped"
        )
        second.__exit__()
        wait_until(
            lambda: not any(psutil.pid_exists(pid) for pid in per_session), message="both children stopped"
        )
    finally:
        host.stop()


def test_a_restart_that_changes_the_tools_tells_connected_clients(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        with LegacyClient(host.url) as client:
            client.call_tool("echo__add_tool", {"name": "temporary"})
            wait_until(
                lambda: "echo__temporary" in [t["name"] for t in client.result("tools/list")["tools"]],
                message="the gateway re-listed after the child's list_changed",
            )
            seen: list[dict[str, object]] = []

            def follow() -> None:
                headers = {"accept": "text/event-stream", "mcp-session-id": client.session_id or ""}
                with httpx.stream("GET", host.url, headers=headers, timeout=30) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            seen.append(json.loads(line[6:]))
                            return

            reader = threading.Thread(target=follow)
            reader.start()
            pid = server_status(host, "echo")["pid"]
            wait_until(lambda: admin(host, "/servers")["sessions"] == 1)
            admin(host, "/servers/echo/restart", "POST")
            reader.join(20)
            assert seen and seen[0]["method"] == "notifications/tools/list_changed"
            wait_until(
                lambda: (
                    server_status(host, "echo")["state"] == "ready"
                    and server_status(host, "echo")["pid"] != pid
                )
            )
            assert "echo__temporary" not in [t["name"] for t in client.result("tools/list")["tools"]]
    finally:
        host.stop()


def test_a_call_still_running_when_the_grace_time_ends_gets_an_error_it_can_read(home: Path) -> None:
    config = write_config(home, '[gateway]\nshutdown_grace = "2s"\n' + SLOW)
    host = start_host(home, "--config", str(config))
    try:
        call = StreamingCall(host.url, "slow__sleep", {"seconds": 60, "steps": 60})
        assert call.progressed.wait(20), "the call reached the child"
        host.proc.send_signal(signal.SIGTERM)
        final = call.join()
        assert final["error"]["message"] == "mcpctl is shutting down"
        assert host.proc.wait(20) == 0
        assert "Traceback" not in host.output()
    finally:
        host.stop()


def test_a_bare_command_takes_its_isolation_from_the_command_line(home: Path) -> None:
    host = start_host(home, "--isolation", "session", "--", *fixture("echo.py"))
    try:
        parent = psutil.Process(host.proc.pid)
        baseline = {p.pid for p in parent.children()}
        with LegacyClient(host.url) as first, LegacyClient(host.url) as second:
            for client in (first, second):
                assert client.call_tool("echo", {"message": "mine"})["content"][0]["text"] == "mine"
            assert len({p.pid for p in parent.children()} - baseline) == 2  # a child per session
    finally:
        host.stop()


def test_isolation_outside_a_bare_command_is_a_usage_error(home: Path) -> None:
    done = subprocess.run(
        mcpctl_command("serve", "--isolation", "session"),
        env=base_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--isolation is for a bare command" in done.stderr
    assert "Traceback" not in done.stderr
