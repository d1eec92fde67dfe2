"""Supervision: crashes, restarts with backoff, crash loops, broken servers, noisy and huge children."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil

from tests.support.host import admin, server_status, start_host, write_config
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.waiting import wait_until

FAST_RESTART = "restart = { initial_backoff = 0.05, max_backoff = 0.2, max_failures = 3, window = 30 }"


def test_a_crashed_child_fails_its_call_at_once_and_comes_back(home: Path) -> None:
    config = write_config(
        home,
        f"""
[servers.crashy]
command = "{{python}}"
args = ["{{fixtures}}/crashing.py"]
{FAST_RESTART}
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        first_pid = server_status(host, "crashy")["pid"]
        with ModernClient(host.url) as client:
            started = time.monotonic()
            final = client.request("tools/call", {"name": "crashy__crash", "arguments": {}})[-1]
            assert final["error"]["code"] == -31000, final  # unavailable, named as such
            assert "crashy" in final["error"]["message"]
            assert time.monotonic() - started < 5  # an error at once, not a timeout
            wait_until(
                lambda: (
                    server_status(host, "crashy")["state"] == "ready"
                    and server_status(host, "crashy")["pid"] != first_pid
                ),
                message="the child restarted",
            )
            assert client.call_tool("crashy__echo", {"message": "back"})["content"][0]["text"] == "back"
        status = server_status(host, "crashy")
        assert status["restarts"] == 1
        assert "exited with code 1" in str(status["lastExit"])
    finally:
        assert host.stop() == 0


def test_a_crash_loop_is_reported_and_does_not_touch_the_other_servers(home: Path) -> None:
    config = write_config(
        home,
        f"""
[servers.broken]
command = "{{python}}"
args = ["{{fixtures}}/crashing.py", "--crash-at-start"]
{FAST_RESTART}

[servers.missing]
command = "/nonexistent/mcp-server"
required = false

[servers.echo]
command = "{{python}}"
args = ["{{fixtures}}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config), wait_ready=False)
    try:
        wait_until(lambda: server_status(host, "broken")["state"] == "crash-loop", message="crash-loop state")
        ready = httpx.get(host.base_url + "/ready")
        assert ready.status_code == 503  # a required server is down
        states = {s["name"]: s["state"] for s in ready.json()["servers"]}
        assert states["echo"] == "ready" and states["broken"] == "crash-loop"
        assert "command not found" in str(server_status(host, "missing")["lastError"])
        with LegacyClient(host.url) as client:
            assert client.call_tool("echo__echo", {"message": "fine"})["content"][0]["text"] == "fine"
            final = client.request("tools/call", {"name": "broken__echo", "arguments": {"message": "x"}})[-1]
            assert final["error"]["code"] == -32602  # its tools are not listed while it crash-loops
        # Crash-loop stderr is kept for `mcpctl servers`: the last error quotes what the child said.
        last_error = str(server_status(host, "broken")["lastError"])
        assert "exited with code 3" in last_error, last_error
        assert "stderr: [crashing] crashing at start (--crash-at-start)" in last_error, last_error
    finally:
        host.stop()


def test_restart_on_request_brings_a_server_back_out_of_crash_loop(home: Path) -> None:
    flag = home / "healthy"
    config = write_config(
        home,
        f"""
[servers.flaky]
command = "sh"
args = ["-c", "test -f '{flag}' || exit 3; exec '{{python}}' '{{fixtures}}/echo.py'"]
{FAST_RESTART}
""",
    )
    host = start_host(home, "--config", str(config), wait_ready=False)
    try:
        wait_until(lambda: server_status(host, "flaky")["state"] == "crash-loop")
        flag.touch()
        admin(host, "/servers/flaky/restart", "POST")
        host.wait_ready()
    finally:
        host.stop()


def test_a_child_flooding_stderr_keeps_answering(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.noisy]
command = "{python}"
args = ["{fixtures}/noisy.py", "--stderr-mb", "40"]
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        with ModernClient(host.url) as client:
            for i in range(20):
                assert client.call_tool("noisy__echo", {"message": str(i)})["content"][0]["text"] == str(i)
            produced = int(client.call_tool("noisy__stderr_bytes")["content"][0]["text"])
        assert produced > 1_000_000  # the child really wrote megabytes while we talked to it
        log = home / "logs" / "servers" / "noisy.log"
        wait_until(
            lambda: log.exists() and log.stat().st_size > 100_000, message="stderr reaches the log file"
        )
        assert server_status(host, "noisy")["stderr"]
    finally:
        host.stop()


def test_huge_lines_and_stdout_garbage_pass_through(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.huge]
command = "{python}"
args = ["{fixtures}/huge.py", "--garbage"]

[servers.small]
command = "{python}"
args = ["{fixtures}/huge.py"]
max_line_bytes = 1048576
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        with ModernClient(host.url) as client:
            size = 30 * 1024 * 1024  # far over the 64 KiB that breaks other bridges, under the 32 MiB default
            result = client.call_tool("huge__blob", {"size": size})
            assert len(result["content"][0]["text"]) == size
            assert (
                client.call_tool("huge__echo", {"message": "still fine"})["content"][0]["text"]
                == "still fine"
            )
            # Over the configured maximum: the call fails at once, naming the setting to raise.
            started = time.monotonic()
            final = client.request(
                "tools/call", {"name": "small__blob", "arguments": {"size": 2 * 1024 * 1024}}
            )[-1]
            assert "max_line_bytes" in final["error"]["message"]
            assert time.monotonic() - started < 5
            assert client.call_tool("small__echo", {"message": "next"})["content"][0]["text"] == "next"
        log = (home / "logs" / "servers" / "huge.log").read_text()
        assert "skipped non-JSON stdout line: npm WARN" in log
    finally:
        host.stop()


def test_shutdown_stops_every_child_within_its_deadline(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.stubborn]
command = "{python}"
args = ["{fixtures}/crashing.py", "--hang-at-start", "--ignore-sigterm"]
required = false
startup_timeout = 60
shutdown_timeout = 1

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config), wait_ready=False)
    parent = psutil.Process(host.proc.pid)
    wait_until(lambda: len(parent.children(recursive=True)) >= 2, message="both children running")
    children = parent.children(recursive=True)
    started = time.monotonic()
    assert host.stop() == 0
    assert time.monotonic() - started < 8
    _, alive = psutil.wait_procs(children, timeout=3)
    assert not alive, f"children outlived mcpctl: {alive}"
    assert "mcpctl stopped" in host.output()


def test_kill_9_of_mcpctl_leaves_no_orphans(home: Path) -> None:
    # `sh -c` puts a grandchild behind the child, like npx does with the real server.
    config = write_config(
        home,
        """
[servers.wrapped]
command = "sh"
args = ["-c", "'{python}' '{fixtures}/echo.py'; true"]

[servers.plain]
command = "{python}"
args = ["{fixtures}/slow.py"]
""",
    )
    host = start_host(home, "--config", str(config))
    descendants = psutil.Process(host.proc.pid).children(recursive=True)
    assert len(descendants) >= 3
    host.proc.kill()
    host.proc.wait(5)
    _, alive = psutil.wait_procs(descendants, timeout=5)
    assert not alive, f"orphans left behind: {[p.cmdline() for p in alive]}"
