"""Fixtures for the auth tests: a real Secret Service, a real OpenID provider, the CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.host import ROOT, base_env, mcpctl_command
from tests.support.oauth import oauth_server  # noqa: F401  (a fixture)
from tests.support.secret_service import keyring_env, secret_service  # noqa: F401  (a fixture)

PROBE = Path(__file__).with_name("probe_server.py")


@dataclass
class Cli:
    """`mcpctl ...` as a user runs it: a subprocess with this test's MCPCTL_HOME and keyring."""

    home: Path
    env: dict[str, str]

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            mcpctl_command(*args),
            check=False,
            input=stdin or "",
            capture_output=True,
            text=True,
            env={**self.env, **env},
            cwd=ROOT,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"mcpctl {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def create_key(self, name: str, *args: str) -> str:
        """A new API key (printed once, on stdout)."""
        return self.run("keys", "create", name, *args).stdout.strip()


@pytest.fixture
def cli(home: Path, secret_service: dict[str, str]) -> Cli:  # noqa: F811
    return Cli(home, keyring_env(base_env(home), secret_service))


def audit_records(home: Path) -> list[dict[str, Any]]:
    """Every record the audit part has written so far."""
    path = home / "logs" / "audit" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def every_file_text(root: Path) -> str:
    """All bytes under `root` (logs, state, runtime, data), for grepping after secrets."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())
