"""Shared fixtures: an isolated MCPCTL_HOME per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An MCPCTL_HOME of the test's own, so hosts and state never collide."""
    path = tmp_path / "home"
    path.mkdir()
    return path
