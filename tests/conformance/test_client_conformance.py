"""The official conformance suite's client scenarios, with mcpctl as the client (tests/conformance/client)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.host import ROOT

NODE_BIN = ROOT / "tests" / "node" / "node_modules" / ".bin"
ADAPTER = "tests/conformance/client"
EXPECTED = Path(__file__).with_name("client-expected-failures.yaml")


def expected_failures() -> dict[str, str]:
    """scenario -> reason, from the `client:` mapping (a tiny YAML subset: `  name: reason`, folded)."""
    reasons: dict[str, str] = {}
    current: str | None = None
    for line in EXPECTED.read_text().splitlines():
        text = line.split("#", 1)[0].rstrip()
        if not text or not text.startswith("  "):
            continue
        if not text.startswith("    ") and ":" in text:
            current, _, reason = text.strip().partition(":")
            reasons[current] = reason.strip().removeprefix(">-").strip()
        elif current is not None:
            reasons[current] = f"{reasons[current]} {text.strip()}".strip()
    return reasons


def run_suite(selection: list[str], output: Path) -> dict[str, list[dict[str, object]]]:
    env = {**os.environ, "PATH": f"{NODE_BIN}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("MCPCTL_")}
    proc = subprocess.run(
        [str(NODE_BIN / "conformance"), "client", "--command", ADAPTER, *selection, "-o", str(output)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    results: dict[str, list[dict[str, object]]] = {}
    for checks in output.glob("*/checks.json"):  # auth/* sits one level deeper: not collected
        scenario = re.sub(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", checks.parent.name)
        results[scenario] = json.loads(checks.read_text())
    assert results, f"the suite produced no results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return results


@pytest.mark.parametrize(
    "selection",
    [["--suite", "core"], ["--requirements", "2026-07-28"]],
    ids=["core", "requirements-2026-07-28"],
)
def test_client_scenarios_pass(selection: list[str], tmp_path: Path) -> None:
    results = run_suite(selection, tmp_path)
    failing = {
        name
        for name, checks in results.items()
        if any(c.get("status") in ("FAILURE", "WARNING") for c in checks)
    }
    expected = set(expected_failures()) & set(results)
    details = {
        name: [
            f"{c.get('id')}: {c.get('errorMessage')}" for c in results[name] if c.get("status") == "FAILURE"
        ]
        for name in failing - expected
    }
    assert failing - expected == set(), f"unexpected failures: {details}"
    assert expected - failing == set(), (
        f"now passing, remove from {EXPECTED.name}: {sorted(expected - failing)}"
    )
    passed = sum(1 for checks in results.values() for c in checks if c.get("status") == "SUCCESS")
    assert passed >= len(results), f"suspiciously few passing checks: {passed} in {len(results)} scenarios"


def test_every_expected_failure_has_a_reason() -> None:
    reasons = expected_failures()
    assert all(len(reason) > 20 for reason in reasons.values()), reasons
