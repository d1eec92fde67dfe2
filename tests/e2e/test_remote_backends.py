"""Remote servers as backends of `mcpctl serve`: Streamable HTTP and HTTP+SSE, across a remote restart."""

from __future__ import annotations

import functools
import subprocess
import time
from pathlib import Path

import httpx
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


def test_an_http_sse_remote_killed_and_back_is_reconnected_in_seconds_with_the_real_cause(
    home: Path, tmp_path: Path
) -> None:
    """An outage is not a crash loop: no crash-loop state, no five-minute wait, tools still listed."""
    port = free_port()
    remote, _ = serve_everything("sse", tmp_path / "first.log", port)
    config = write_config(
        home,
        f"""
[servers.old]
url = "http://127.0.0.1:{port}/sse"
transport = "sse"
""",
    )
    host = start_host(home, "--config", str(config), timeout=60)
    try:
        remote.kill()
        remote.wait(10)

        def down_with_the_cause() -> dict[str, object] | None:
            status = server_status(host, "old")
            return status if "connection refused" in str(status["lastError"]) else None

        status = wait_until(down_with_the_cause, 15, message="a reconnect attempt naming the cause")
        assert "speaks neither" not in str(status["lastError"])

        def next_attempt(previous: object) -> dict[str, object] | None:
            current = server_status(host, "old")
            return current if current["restarts"] != previous else None

        history: list[object] = []
        for _ in range(6):  # more attempts than restart.max_failures: still backing off, no crash loop
            status = wait_until(functools.partial(next_attempt, status["restarts"]), 15)
            history.append(status["state"])
        assert "crash-loop" not in history, history
        assert host.ready()["ready"] is False
        with ModernClient(host.url) as client:
            names = {t["name"] for t in client.result("tools/list")["tools"]}
            assert "old__echo" in names  # still listed while it is away
            failed = client.request("tools/call", {"name": "old__echo", "arguments": {"message": "x"}})[-1]
            assert "connection refused" in failed["error"]["message"]
        remote, _ = serve_everything("sse", tmp_path / "second.log", port)
        back = time.monotonic()
        wait_until(lambda: server_status(host, "old")["state"] == "ready", 15, message="reconnected")
        assert time.monotonic() - back < 8  # max_backoff (5 s) and a connection
        with ModernClient(host.url) as client:
            assert client.call_tool("old__echo", {"message": "back"})["content"][0]["text"] == "Echo: back"
    finally:
        host.stop()
        stop(remote)


def test_a_required_remote_that_goes_away_makes_the_gateway_unready_and_its_breaker_probes_on_return(
    home: Path, tmp_path: Path
) -> None:
    port = free_port()
    remote, _ = serve_everything("streamableHttp", tmp_path / "first.log", port)
    config = write_config(
        home,
        f"""
[servers.ev]
url = "http://127.0.0.1:{port}/mcp"
reconnect = {{ health_interval = "1s" }}
breaker = {{ failures = 2, open_for = "10m" }}
""",
    )
    host = start_host(home, "--config", str(config), timeout=60)
    try:
        with ModernClient(host.url) as client:
            assert client.call_tool("ev__echo", {"message": "up"})["content"][0]["text"] == "Echo: up"
            stop(remote)
            # no call needed: the idle check (or the dropped stream) notices
            wait_until(lambda: not host.ready()["ready"], 10, message="/ready to turn 503")
            assert httpx.get(host.base_url + "/ready").status_code == 503
            for _ in range(2):
                failed = client.request("tools/call", {"name": "ev__echo", "arguments": {"message": "x"}})[-1]
                assert failed["error"]["code"] in (-31000, -31004), failed
            assert server_status(host, "ev")["breaker"]["state"] == "open"
            remote, _ = serve_everything("streamableHttp", tmp_path / "second.log", port)
            back = time.monotonic()

            def answered() -> bool:
                reply = client.request("tools/call", {"name": "ev__echo", "arguments": {"message": "again"}})
                return "result" in reply[-1]

            wait_until(answered, 15, interval=0.2, message="calls to go through again")
            # the reconnect (at most 5 s apart) puts the breaker half-open at once: not after open_for
            assert time.monotonic() - back < 8
            assert server_status(host, "ev")["breaker"]["state"] == "closed"
            assert host.ready()["ready"] is True
    finally:
        host.stop()
        stop(remote)
