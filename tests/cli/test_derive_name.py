"""Server names derived from a command line, whatever the launcher's version suffix."""

from __future__ import annotations

import pytest

from mcpctl.cli.common import derive_name


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["python3.13", "echo.py"], "echo"),
        (["/usr/bin/python3.12", "/srv/tools/echo.py", "--verbose"], "echo"),
        (["python3.11", "-u", "fixtures/slow.py"], "slow"),
        (["pypy3.10", "server.py"], "server"),
        (["python", "-m", "mcp_server_time"], "mcp_server_time"),
        (["node22", "dist/index.js"], "index"),
        (["npx", "-y", "@modelcontextprotocol/server-everything@1.2"], "server-everything"),
        (["/opt/bin/my-server", "--port", "1"], "my-server"),
        (["python3-config"], "python3-config"),  # not a launcher: the program is the server
    ],
)
def test_a_versioned_launcher_is_skipped_like_a_plain_one(command: list[str], name: str) -> None:
    assert derive_name(command) == name
