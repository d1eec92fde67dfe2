"""JSON nested deeper than the documented limit is refused when it arrives, on every transport."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import MAX_DEPTH
from tests.support.host import HostProcess, start_host, write_config
from tests.support.mcp_http import LegacyClient, ModernClient

ECHO = """
[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
"""


@pytest.fixture
def host(home: Path) -> Iterator[HostProcess]:
    running = start_host(home, "--config", str(write_config(home, ECHO)))
    yield running
    running.stop()


def deep(levels: int) -> object:
    value: object = "bottom"
    for _ in range(levels):
        value = {"d": value}
    return value


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == codes.PARSE_ERROR
    assert f"nested deeper than {MAX_DEPTH} levels" in error["message"]


def test_deep_arguments_are_refused_on_every_transport_and_nothing_is_left_behind(host: HostProcess) -> None:
    arguments = {"message": "x", "deep": deep(600)}
    with ModernClient(host.url) as modern:
        assert_refused(modern.post(modern.body("tools/call", {"name": "echo__echo", "arguments": arguments})))
        # the same gateway goes on serving: nothing was left pending on the way to the child
        assert modern.call_tool("echo__echo", {"message": "after"})["content"][0]["text"] == "after"
    with LegacyClient(host.url) as legacy:
        body = {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"name": "echo__echo", "arguments": arguments},
        }
        assert_refused(legacy.post(body))
    assert_refused_on_sse(host, arguments)


def assert_refused_on_sse(host: HostProcess, arguments: dict[str, object]) -> None:
    endpoint: list[str] = []
    opened = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", host.base_url + "/sse", timeout=20) as response:
                for line in response.iter_lines():  # the stream is the session: keep reading it
                    if line.startswith("data: /messages"):
                        endpoint.append(line.removeprefix("data: "))
                        opened.set()
        except httpx.HTTPError:
            return  # the host stops at the end of the test, and the stream with it

    threading.Thread(target=listen, daemon=True).start()
    assert opened.wait(10)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo__echo", "arguments": arguments},
    }
    assert_refused(httpx.post(host.base_url + endpoint[0], content=json.dumps(body), timeout=10))


def test_nesting_at_the_limit_is_accepted(host: HostProcess) -> None:
    with ModernClient(host.url) as modern:
        answer = modern.call_tool("echo__echo", {"message": "ok", "deep": deep(MAX_DEPTH - 5)})
        assert answer["content"][0]["text"] == "ok"
