"""Hosts started by an end-to-end test are stopped after it, whether it passed or failed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.host import HostProcess, start_host

Launch = Callable[..., HostProcess]


@pytest.fixture
def launch() -> Iterator[Launch]:
    """`start_host`, with every host it started stopped at the end of the test (a no-op for one
    the test already stopped)."""
    started: list[HostProcess] = []

    def start(home: Path, *serve_args: str, **options: Any) -> HostProcess:
        host = start_host(home, *serve_args, **options)
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
