"""A fresh host: calls and lists that come before a server is up wait for it instead of missing it."""

from __future__ import annotations

from pathlib import Path

from tests.support.host import start_host, write_config
from tests.support.mcp_http import LegacyClient

SLOW_TO_START = """
[servers.echo]
command = "bash"
args = ["-c", "sleep 2; exec '{python}' '{fixtures}/echo.py' --era legacy"]
"""


def test_a_call_made_the_moment_the_host_answers_waits_for_its_server(home: Path) -> None:
    host = start_host(home, "--config", str(write_config(home, SLOW_TO_START)), wait_ready=False)
    try:
        assert host.ready()["ready"] is False  # the server is still starting: this is the race
        with LegacyClient(host.url) as client:
            listed = client.request("tools/list")[-1]
            assert "echo__echo" in [t["name"] for t in listed["result"]["tools"]]
            answer = client.call_tool("echo__echo", {"message": "first"})
            assert answer["content"][0]["text"] == "first"
    finally:
        host.stop()


def test_a_call_for_a_name_no_server_offers_is_still_refused(home: Path) -> None:
    host = start_host(home, "--config", str(write_config(home, SLOW_TO_START)), wait_ready=False)
    try:
        with LegacyClient(host.url) as client:
            refused = client.request("tools/call", {"name": "echo__nope", "arguments": {}})[-1]
            assert refused["error"]["message"] == "Unknown tool: echo__nope"
            assert host.ready()["ready"] is True  # it waited for the server before saying so
    finally:
        host.stop()
