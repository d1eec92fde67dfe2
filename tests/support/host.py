"""Start `mcpctl serve` as a real subprocess on a free loopback port, and stop it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
PYTHON = sys.executable


def fixture(name: str, *args: str) -> list[str]:
    """The command line of a stdio fixture server."""
    return [PYTHON, str(FIXTURES / name), *args]


def mcpctl_command(*args: str) -> list[str]:
    return [PYTHON, "-m", "mcpctl", *args]


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPCTL_")}
    env.update({"MCPCTL_HOME": str(home), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


@dataclass
class HostProcess:
    """A running `mcpctl serve`."""

    proc: subprocess.Popen[bytes]
    home: Path
    log: Path
    state: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.state["url"])

    @property
    def base_url(self) -> str:
        return self.url.rsplit("/mcp", 1)[0]

    @property
    def admin_token(self) -> str:
        return str(self.state["admin_token"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> dict[str, object]:
        return httpx.get(self.base_url + "/ready", timeout=5).json()  # type: ignore[no-any-return]

    def wait_ready(self, timeout: float = 20.0) -> None:
        wait_until(lambda: self.ready()["ready"], timeout, message="all required servers ready")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(
                    f"mcpctl did not stop within {timeout}s:\n{self.output()[-3000:]}"
                ) from None
        return self.proc.returncode


def start_host(
    home: Path,
    *serve_args: str,
    env: dict[str, str] | None = None,
    timeout: float = 20.0,
    wait_ready: bool = True,
    prefix: list[str] | None = None,
    source: Path = ROOT,
) -> HostProcess:
    """`mcpctl serve --port 0 ARGS` under MCPCTL_HOME=home; returns once its state file and /health answer.

    `prefix` runs it under another command (e.g. `taskset -c 0` in benchmarks), which must exec.
    `source` is the folder whose `mcpctl` package runs (`python -m` imports from its working
    directory first): the compiled build's (tests/support/compiled.py), say.
    """
    home.mkdir(parents=True, exist_ok=True)
    log = home / "serve.log"
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [*(prefix or []), *mcpctl_command("serve", "--port", "0", *serve_args)],
            env=env or base_env(home),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=source,
        )
    host = HostProcess(proc, home, log)
    state_file = home / "run" / "host.json"

    def started() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"mcpctl serve exited with {proc.returncode}:\n{host.output()[-3000:]}")
        if not state_file.exists():
            return False
        host.state = json.loads(state_file.read_text())
        return httpx.get(host.base_url + "/health", timeout=2).status_code == 200

    try:
        wait_until(started, timeout, message="mcpctl serve to start")
        if wait_ready:
            host.wait_ready(timeout)
    except BaseException:
        host.stop(signal.SIGKILL)
        raise
    return host


def write_config(home: Path, text: str) -> Path:
    """A config file in `home`; `{python}` and `{fixtures}` are filled in (paths with spaces are fine)."""
    path = home / "mcpctl.toml"
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("{python}", json.dumps(PYTHON)[1:-1]).replace("{fixtures}", str(FIXTURES)))
    return path


def admin(host: HostProcess, path: str, method: str = "GET") -> dict[str, object]:
    """The host's admin API (what `mcpctl servers` reads), with the admin token from the state file."""
    response = httpx.request(
        method,
        host.base_url + "/admin" + path,
        timeout=10,
        headers={"authorization": f"Bearer {host.admin_token}"},
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def server_status(host: HostProcess, name: str) -> dict[str, object]:
    servers = admin(host, "/servers")["servers"]
    assert isinstance(servers, list)
    return next(s for s in servers if s["name"] == name)
