"""Shared fixtures: an isolated MCPCTL_HOME per test."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

# A background job of a non-interactive shell (`./tests/run &`, `nohup`) starts with SIGINT
# ignored, and every process the tests start would inherit that: the tests that press Ctrl-C on
# mcpctl would wait on processes that cannot hear it. A handler, unlike an ignored signal, is not
# inherited across exec, so putting Python's back gives every child the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An MCPCTL_HOME of the test's own, so hosts and state never collide."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fleet's tests (a real Redis, real nginx, several hosts at once) are `slow`: they run on
    the main interpreter only (tests/run), like the other tests of real third-party parts."""
    for item in items:
        if item.nodeid.startswith("tests/fleet/"):
            item.add_marker(pytest.mark.slow)
