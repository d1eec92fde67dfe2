"""`mcpctl logs --follow` in a real terminal (tmux): a call shows as a coloured row within a second."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit.hosting import hosting, server
from tests.support.host import PYTHON, ROOT
from tests.support.mcp_http import ModernClient
from tests.support.waiting import wait_until

TMUX = shutil.which("tmux") or "tmux"
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Pane:
    """One detached tmux session on a private server socket, read as a person would see it."""

    def __init__(self, command: str) -> None:
        self.socket = f"mcpctl-test-{uuid.uuid4().hex[:8]}"
        self._tmux("new-session", "-d", "-s", "logs", "-x", "160", "-y", "30", command)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return done.stdout

    def text(self, *, escapes: bool = False) -> str:
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "logs")

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, check=False, timeout=10)


def follow_command(home: Path, env: str) -> str:
    """The shell command the pane runs: `mcpctl logs --follow` with this test's MCPCTL_HOME."""
    python, root, mcpctl_home = (shlex.quote(str(p)) for p in (PYTHON, ROOT, home))
    return (
        f"cd {root} && {env} TERM=xterm-256color MCPCTL_HOME={mcpctl_home} {python} -m mcpctl logs --follow"
    )


@pytest.fixture
def pane_for(home: Path) -> Iterator[type[Pane]]:
    panes: list[Pane] = []

    class Opened(Pane):
        def __init__(self, command: str) -> None:
            super().__init__(command)
            panes.append(self)

    yield Opened
    for pane in panes:
        pane.close()


def test_follow_renders_a_coloured_row_within_a_second_of_a_call(home: Path, pane_for: type[Pane]) -> None:
    with hosting(home, {"echo": server("echo.py")}) as host, ModernClient(host.url) as client:
        client.call_tool("echo__echo", {"message": "before"})  # the trail exists before the view opens
        pane = pane_for(follow_command(home, "env -u NO_COLOR"))
        wait_until(
            lambda: "following" in pane.text() and "before" in pane.text(), 15, message="the live view"
        )
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        client.call_tool("echo__echo", {"message": probe})
        wait_until(lambda: probe in pane.text(), 5, interval=0.01, message="the call's row in the pane")
        delay = time.monotonic() - started
        assert delay < 1.0, f"the row took {delay:.3f}s to appear"
        screen = pane.text(escapes=True)
        (row,) = [line for line in screen.splitlines() if probe in line]
        assert "echo__echo" in row
        # the outcome cell itself is green: a green SGR, then "ok" with nothing in between
        assert re.search(r"\x1b\[(?:[0-9;]*;)?32(?:;[0-9;]*)?mok\b", row), repr(row)
        print(f"row visible {delay * 1000:.0f} ms after the call was made")


def test_follow_in_a_terminal_with_no_color_is_plain_text(home: Path, pane_for: type[Pane]) -> None:
    with hosting(home, {"echo": server("echo.py")}) as host, ModernClient(host.url) as client:
        pane = pane_for(follow_command(home, "env NO_COLOR=1"))
        wait_until(lambda: "following" in pane.text(), 15, message="mcpctl logs --follow to start")
        client.call_tool("echo__fail", {})
        wait_until(lambda: "tool_error" in pane.text(), 5, message="the call's line")
        (line,) = [ln for ln in pane.text(escapes=True).splitlines() if "tool_error" in ln]
        assert "\x1b[" not in line
