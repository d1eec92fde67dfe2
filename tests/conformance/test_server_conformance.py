"""The official conformance suite's server scenarios against `mcpctl serve -- conformance_server.py`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.host import ROOT, HostProcess, fixture, start_host

NODE_BIN = ROOT / "tests" / "node" / "node_modules" / ".bin"
EXPECTED = Path(__file__).with_name("server-expected-failures.yaml")


def expected_failures(revision: str) -> set[str]:
    """Scenario names listed for `revision` (a tiny YAML subset: `revision:` then `  - name`)."""
    names: set[str] = set()
    current = None
    for line in EXPECTED.read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if not stripped.startswith(" "):
            current = stripped.rstrip(":").split(":")[0]
        elif current == revision and stripped.strip().startswith("- "):
            names.add(stripped.strip()[2:].strip())
    return names


@pytest.fixture(scope="module")
def conformance_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    host = start_host(
        tmp_path_factory.mktemp("conformance") / "home",
        "--log-level",
        "warning",
        "--",
        *fixture("conformance_server.py"),
    )
    yield host
    host.stop()


def run_suite(url: str, revision: str, output: Path) -> tuple[int, dict[str, list[dict[str, object]]]]:
    env = {**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["conformance", "server", "--url", url, "--requirements", revision, "-o", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    results: dict[str, list[dict[str, object]]] = {}
    for checks in output.glob("*/checks.json"):
        scenario = re.sub(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", checks.parent.name.removeprefix("server-"))
        results[scenario] = json.loads(checks.read_text())
    assert results, f"the suite produced no results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.returncode, results


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_server_scenarios_pass(conformance_host: HostProcess, revision: str, tmp_path: Path) -> None:
    code, results = run_suite(conformance_host.url, revision, tmp_path)
    failing = {name for name, checks in results.items() if any(c.get("status") == "FAILURE" for c in checks)}
    expected = expected_failures(revision)
    assert failing - expected == set(), f"unexpected failures: {sorted(failing - expected)}"
    assert expected - failing == set(), (
        f"now passing, remove from {EXPECTED.name}: {sorted(expected - failing)}"
    )
    assert code == 0
    passed = sum(1 for checks in results.values() for c in checks if c.get("status") == "SUCCESS")
    assert passed > 50, f"suspiciously few passing checks: {passed}"
