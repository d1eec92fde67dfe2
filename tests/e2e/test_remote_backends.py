"""Remote servers as backends of `mcpctl serve`: Streamable HTTP and HTTP+SSE, across a remote restart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.host import server_status, start_host, write_config
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.node import free_port, serve_everything
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # a real third-party server from npm


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def test_remote_servers_of_both_transports_sit_beside_a_stdio_one(home: Path, tmp_path: Path) -> None:
    streamable, port = serve_everything("streamableHttp", tmp_path / "streamable.log")
    sse, sse_port = serve_everything("sse", tmp_path / "sse.log")
    config = write_config(
        home,
        f"""
[servers.ev]
url = "http://127.0.0.1:{port}/mcp"

[servers.old]
url = "http://127.0.0.1:{sse_port}/sse"

[servers.echo]
command = "{{python}}"
args = ["{{fixtures}}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config), timeout=60)
    try:
        with ModernClient(host.url) as client:
            names = {t["name"] for t in client.result("tools/list")["tools"]}
            assert {"ev__echo", "old__echo", "echo__echo"} <= names
            assert client.call_tool("ev__echo", {"message": "remote"})["content"][0]["text"] == "Echo: remote"
            assert client.call_tool("old__echo", {"message": "sse"})["content"][0]["text"] == "Echo: sse"
            summed = client.call_tool("ev__get-sum", {"a": 2, "b": 3})["content"][0]["text"]
            assert "5" in summed
        assert server_status(host, "ev")["transport"] == "http"
    finally:
        host.stop()
        stop(streamable)
        stop(sse)


def test_a_remote_restart_is_survived_by_re_initializing_its_session(home: Path, tmp_path: Path) -> None:
    port = free_port()
    remote, _ = serve_everything("streamableHttp", tmp_path / "first.log", port)
    config = write_config(
        home,
        f"""
[servers.ev]
url = "http://127.0.0.1:{port}/mcp"
""",
    )
    host = start_host(home, "--config", str(config), timeout=60)
    try:
        with LegacyClient(host.url) as client:
            assert client.call_tool("ev__echo", {"message": "before"})["content"][0]["text"] == "Echo: before"
            stop(remote)  # the remote forgets every session
            remote, _ = serve_everything("streamableHttp", tmp_path / "second.log", port)
            # The gateway's session with it is gone (404): it re-initializes and the call goes through.
            again = client.call_tool("ev__echo", {"message": "after"})
            assert again["content"][0]["text"] == "Echo: after"
        assert server_status(host, "ev")["state"] == "ready"
    finally:
        host.stop()
        stop(remote)


def test_an_unreachable_remote_is_reported_and_comes_up_when_it_appears(home: Path, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        home,
        f"""
[servers.ev]
url = "http://127.0.0.1:{port}/mcp"
required = false
restart = {{ initial_backoff = 0.2, max_backoff = 0.5, max_failures = 100 }}

[servers.echo]
command = "{{python}}"
args = ["{{fixtures}}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config), timeout=60)
    remote = None
    try:
        assert server_status(host, "ev")["state"] != "ready"
        assert "cannot reach" in str(server_status(host, "ev")["lastError"])
        remote, _ = serve_everything("streamableHttp", tmp_path / "late.log", port)
        wait_until(lambda: server_status(host, "ev")["state"] == "ready", 30, message="the remote to come up")
        with ModernClient(host.url) as client:
            assert client.call_tool("ev__echo", {"message": "late"})["content"][0]["text"] == "Echo: late"
    finally:
        host.stop()
        if remote is not None:
            stop(remote)
