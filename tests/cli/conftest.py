"""Running the real `mcpctl` client commands, and a host with fixture servers to point them at."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.host import FIXTURES, PYTHON, ROOT, HostProcess, base_env, mcpctl_command, start_host

Mcpctl = Callable[..., subprocess.CompletedProcess[str]]

HOST_CONFIG = f"""
[servers.echo]
command = "{PYTHON}"
args = ["{FIXTURES / "echo.py"}"]

[servers.slow]
command = "{PYTHON}"
args = ["{FIXTURES / "slow.py"}"]
env = {{ FIXTURE_CANCEL_LOG = "@CANCEL_LOG@" }}

[servers.conformance]
command = "{PYTHON}"
args = ["{FIXTURES / "conformance_server.py"}"]
prefix = "conf"
"""


def run_mcpctl(
    home: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """`mcpctl ARGS` as a person would run it (no terminal), under MCPCTL_HOME=home."""
    return subprocess.run(
        mcpctl_command(*args),
        env=base_env(home, **(env or {})),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def mcpctl(home: Path) -> Mcpctl:
    def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run_mcpctl(home, *args, **kwargs)  # type: ignore[arg-type]

    return run


def write_host_config(home: Path) -> Path:
    """The default configuration file of `home`: echo, slow (logging cancellations) and conformance."""
    path = home / "config" / "mcpctl.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HOST_CONFIG.replace("@CANCEL_LOG@", str(home / "cancel.log")))
    return path


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """One host per test module (starting one takes a few seconds); use `host_mcpctl` with it."""
    home = tmp_path_factory.mktemp("host") / "home"
    write_host_config(home)
    process = start_host(home, "--log-level", "warning")
    yield process
    assert process.stop() == 0


@pytest.fixture
def host_mcpctl(host: HostProcess) -> Mcpctl:
    """`mcpctl` under the module host's MCPCTL_HOME."""

    def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run_mcpctl(host.home, *args, **kwargs)  # type: ignore[arg-type]

    return run


def stdio(name: str, *args: str) -> list[str]:
    """`-- python fixtures/NAME ARGS`: a fixture as a one-off stdio server."""
    return ["--", PYTHON, str(FIXTURES / name), *args]
