"""`mcpctl serve -- COMMAND`: one stdio server bridged without a prefix, to clients of both eras."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.host import HostProcess, fixture, start_host
from tests.support.mcp_http import LegacyClient, ModernClient


@pytest.fixture
def echo_host(home: Path) -> Iterator[HostProcess]:
    host = start_host(home, "--", *fixture("echo.py"))
    yield host
    assert host.stop() == 0


def test_legacy_client_lists_and_calls_without_prefix(echo_host: HostProcess) -> None:
    with LegacyClient(echo_host.url) as client:
        assert client.init_result["protocolVersion"] == "2025-11-25"
        names = [t["name"] for t in client.result("tools/list")["tools"]]
        assert "echo" in names and "add" in names
        result = client.call_tool("echo", {"message": "hello"})
        assert result["content"] == [{"type": "text", "text": "hello"}]


def test_modern_client_calls_statelessly(echo_host: HostProcess) -> None:
    with ModernClient(echo_host.url) as client:
        result = client.call_tool("add", {"a": 2, "b": 3})
        assert result["structuredContent"] == {"sum": 5}
        assert result["resultType"] == "complete"
        listed = client.result("tools/list")
        assert listed["resultType"] == "complete" and "ttlMs" in listed and "cacheScope" in listed
