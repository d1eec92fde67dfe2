"""Real parts for sign-in tests: an OpenID provider, a protected `mcpctl serve`, Chromium, a keyring."""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.support.host import FIXTURES, PYTHON, ROOT, HostProcess, base_env, mcpctl_command, start_host
from tests.support.node import NODE
from tests.support.oauth import (
    OAuthServer,
    oauth_server,  # noqa: F401  (a fixture, shared by the whole run)
    running_oauth_server,
)
from tests.support.secret_service import (
    keyring_env,
    secret_service,  # noqa: F401  (a fixture)
)

BROWSER_SCRIPT = ROOT / "tests" / "support" / "browser_login.js"
SCOPES = "mcp:tools mcp:admin files:write"


@dataclass
class Person:
    """Someone at a terminal: `mcpctl` as a subprocess, their keyring, their browser (Chromium)."""

    home: Path
    env: dict[str, str]
    browser_log: Path

    def run(
        self, *args: str, stdin: str = "", timeout: float = 90, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            mcpctl_command(*args),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            env={**self.env, **env},
            cwd=ROOT,
            timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            mcpctl_command(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **env},
            cwd=ROOT,
        )

    def login(self, url: str, *args: str, action: str = "consent") -> subprocess.CompletedProcess[str]:
        return self.run("login", url, "--timeout", "60", *args, LOGIN_ACTION=action)

    def browser_opened(self) -> int:
        """How many times the browser was started (each run logs one `open` line first)."""
        if not self.browser_log.exists():
            return 0
        return sum(1 for line in self.browser_log.read_text().splitlines() if "] open " in line)

    def logins(self) -> list[dict[str, Any]]:
        done = self.run("auth", "status", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def keyring(self, user: str, value: str | None = None) -> str | None:
        """Read (or overwrite) an entry of the person's real keyring, as another program would."""
        code = (
            "import keyring, sys\n"
            "if len(sys.argv) > 2: keyring.set_password('mcpctl', sys.argv[1], sys.stdin.read())\n"
            "print(keyring.get_password('mcpctl', sys.argv[1]) or '', end='')\n"
        )
        args = [PYTHON, "-c", code, user] + (["set"] if value is not None else [])
        done = subprocess.run(
            args, input=value or "", capture_output=True, text=True, env=self.env, check=True
        )
        return done.stdout or None


@pytest.fixture
def person(home: Path, tmp_path: Path, secret_service: dict[str, str]) -> Person:  # noqa: F811
    env = keyring_env(base_env(home), secret_service)
    log = tmp_path / "browser.log"
    env.update(
        {
            "BROWSER": f"{shlex.quote(str(NODE))} {shlex.quote(str(BROWSER_SCRIPT))} %s &",
            "LOGIN_LOG": str(log),
        }
    )
    return Person(home, env, log)


@contextlib.contextmanager
def protected_host(directory: Path, issuer: str, **auth: Any) -> Iterator[HostProcess]:
    """`mcpctl serve` as an OAuth resource server (tokens from `issuer`) in front of the echo server."""
    home = directory / "protected-host"
    config = {
        "servers": {"echo": {"command": PYTHON, "args": [str(FIXTURES / "echo.py")]}},
        "auth": {"mode": "oauth", "issuer": issuer, "scopes": ["mcp:tools"], "leeway": 0, **auth},
    }
    (home / "config").mkdir(parents=True)
    (home / "config" / "mcpctl.toml").write_text(tomli_w.dumps(config))
    host = start_host(home)
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def protected(tmp_path: Path, oauth_server: OAuthServer) -> Iterator[HostProcess]:  # noqa: F811
    with protected_host(tmp_path, oauth_server.issuer) as host:
        yield host


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    """A provider whose access tokens live 4 seconds (refresh tokens a day, rotated on use)."""
    with running_oauth_server(
        tmp_path_factory.mktemp("short"), RS_SCOPES=SCOPES, ACCESS_TOKEN_TTL="4"
    ) as server:
        yield server
