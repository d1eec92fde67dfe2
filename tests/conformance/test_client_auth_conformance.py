"""The official conformance suite's client auth scenarios: the real `mcpctl login` + `mcpctl call`.

tests/conformance/client hands auth/* scenarios to tests/conformance/auth_client.py, which signs in
with `mcpctl login` (its "browser" follows the suite's immediate redirects) and calls the tool with
`mcpctl call`. Tokens go to a real Secret Service of this test's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.suite import (
    ADAPTER,
    expected_failures,
    failing,
    failure_details,
    passed_checks,
    run_suite,
)
from tests.support.secret_service import keyring_env, private_secret_service

pytestmark = pytest.mark.slow  # the official conformance suite (Node)

EXPECTED = Path(__file__).with_name("client-auth-expected-failures.yaml")

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


@pytest.fixture
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Secret Service per selection: no login or client registration carries over between them."""
    with private_secret_service(tmp_path_factory.mktemp("keyring")) as variables:
        yield variables


def run_auth_suite(
    selection: list[str], output: Path, keyring: dict[str, str]
) -> dict[str, list[dict[str, object]]]:
    env = keyring_env({k: v for k, v in os.environ.items() if k != "BROWSER"}, keyring)
    # scenarios run in parallel, each with a few Python processes: give them time on 2 cores
    args = ["--command", ADAPTER, *selection, "--timeout", "120000"]
    _, results = run_suite(
        "client", args, output, env, scenarios="auth/**"
    )  # others: test_client_conformance
    return results


@pytest.mark.parametrize("selection", list(SELECTIONS.values()), ids=list(SELECTIONS))
def test_client_auth_scenarios_pass(selection: list[str], tmp_path: Path, keyring: dict[str, str]) -> None:
    results = run_auth_suite(selection, tmp_path, keyring)
    failed = failing(results, ("FAILURE", "WARNING"))
    expected = set(expected_failures(EXPECTED, "client")) & set(results)
    details = failure_details(results, failed - expected, tmp_path)
    assert failed - expected == set(), f"unexpected failures: {details}"
    assert expected - failed == set(), (
        f"now passing, remove from {EXPECTED.name}: {sorted(expected - failed)}"
    )
    passed = passed_checks(results)
    assert passed >= 2 * len(results), (
        f"suspiciously few passing checks: {passed} in {len(results)} scenarios"
    )


def test_every_expected_failure_has_a_reason() -> None:
    reasons = expected_failures(EXPECTED, "client")
    assert reasons
    assert all(name.startswith("auth/") and len(reason) > 20 for name, reason in reasons.items()), reasons
