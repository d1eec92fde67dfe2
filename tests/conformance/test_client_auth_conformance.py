"""The official conformance suite's client auth scenarios: the real `mcpctl login` + `mcpctl call`.

tests/conformance/client hands auth/* scenarios to tests/conformance/auth_client.py, which signs in
with `mcpctl login` (its "browser" follows the suite's immediate redirects) and calls the tool with
`mcpctl call`. Tokens go to a real Secret Service of this test's own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.host import ROOT
from tests.support.secret_service import keyring_env, private_secret_service

NODE_BIN = ROOT / "tests" / "node" / "node_modules" / ".bin"
ADAPTER = "tests/conformance/client"
EXPECTED = Path(__file__).with_name("client-auth-expected-failures.yaml")
TIMESTAMP = re.compile(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$")

SELECTIONS = {
    # tier-1 auth scenarios at the stateful wire (2025-11-25) and at the stateless one (2026-07-28)
    "auth": ["--suite", "auth"],
    "auth-2026-07-28": ["--suite", "auth", "--spec-version", "2026-07-28"],
    # 2025-03-26 servers: no protected-resource metadata, default endpoints
    "backcompat": ["--suite", "backcompat"],
    # RFC 9207 iss, resource mismatch, offline_access, authorization server migration, issuer check
    "draft": ["--suite", "draft"],
    # optional extensions (client credentials, DPoP, ...): listed in the expected failures
    "extensions": ["--suite", "extensions"],
}


def expected_failures() -> dict[str, str]:
    """scenario -> reason, from the `client:` mapping (a tiny YAML subset: `  name: reason`, folded)."""
    reasons: dict[str, str] = {}
    current: str | None = None
    for line in EXPECTED.read_text().splitlines():
        text = line.split("#", 1)[0].rstrip()
        if not text.startswith("  "):
            continue
        if not text.startswith("    ") and ":" in text:
            current, _, reason = text.strip().partition(":")
            reasons[current] = reason.strip().removeprefix(">-").strip()
        elif current is not None:
            reasons[current] = f"{reasons[current]} {text.strip()}".strip()
    return reasons


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with private_secret_service(tmp_path_factory.mktemp("keyring")) as variables:
        yield variables


def run_suite(
    selection: list[str], output: Path, keyring: dict[str, str]
) -> dict[str, list[dict[str, object]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPCTL_") and k != "BROWSER"}
    env = keyring_env(env, keyring)
    env["PATH"] = f"{NODE_BIN}:{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    proc = subprocess.run(
        # scenarios run in parallel, each with a few Python processes: give them time on 2 cores
        [
            str(NODE_BIN / "conformance"),
            "client",
            "--command",
            ADAPTER,
            *selection,
            "--timeout",
            "120000",
            "-o",
            str(output),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    results: dict[str, list[dict[str, object]]] = {}
    for checks in output.rglob("checks.json"):
        scenario = TIMESTAMP.sub("", str(checks.parent.relative_to(output)))
        if scenario.startswith("auth/"):  # other client scenarios are test_client_conformance's
            results[scenario] = json.loads(checks.read_text())
    assert results, f"the suite produced no auth results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return results


@pytest.mark.parametrize("selection", list(SELECTIONS.values()), ids=list(SELECTIONS))
def test_client_auth_scenarios_pass(selection: list[str], tmp_path: Path, keyring: dict[str, str]) -> None:
    results = run_suite(selection, tmp_path, keyring)
    failing = {
        name
        for name, checks in results.items()
        if any(c.get("status") in ("FAILURE", "WARNING") for c in checks)
    }
    expected = set(expected_failures()) & set(results)
    details = {
        name: [
            f"{c.get('id')}: {c.get('description')}" for c in results[name] if c.get("status") != "SUCCESS"
        ]
        for name in failing - expected
    }
    assert failing - expected == set(), f"unexpected failures: {details}"
    assert expected - failing == set(), (
        f"now passing, remove from {EXPECTED.name}: {sorted(expected - failing)}"
    )
    passed = sum(1 for checks in results.values() for c in checks if c.get("status") == "SUCCESS")
    assert passed >= 2 * len(results), (
        f"suspiciously few passing checks: {passed} in {len(results)} scenarios"
    )


def test_every_expected_failure_has_a_reason() -> None:
    reasons = expected_failures()
    assert reasons
    assert all(name.startswith("auth/") and len(reason) > 20 for name, reason in reasons.items()), reasons
