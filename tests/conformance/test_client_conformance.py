"""The official conformance suite's client scenarios, with mcpctl as the client (tests/conformance/client)."""

from __future__ import annotations

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

EXPECTED = Path(__file__).with_name("client-expected-failures.yaml")
pytestmark = pytest.mark.slow  # the official conformance suite (Node)


@pytest.mark.parametrize(
    "selection",
    [["--suite", "core"], ["--requirements", "2026-07-28"]],
    ids=["core", "requirements-2026-07-28"],
)
def test_client_scenarios_pass(selection: list[str], tmp_path: Path) -> None:
    # auth/* sits one level deeper: not collected (test_client_auth_conformance runs those)
    _, results = run_suite("client", ["--command", ADAPTER, *selection], tmp_path)
    failed = failing(results, ("FAILURE", "WARNING"))
    expected = set(expected_failures(EXPECTED, "client")) & set(results)
    details = failure_details(results, failed - expected, tmp_path)
    assert failed - expected == set(), f"unexpected failures: {details}"
    assert expected - failed == set(), (
        f"now passing, remove from {EXPECTED.name}: {sorted(expected - failed)}"
    )
    passed = passed_checks(results)
    assert passed >= len(results), f"suspiciously few passing checks: {passed} in {len(results)} scenarios"


def test_every_expected_failure_has_a_reason() -> None:
    reasons = expected_failures(EXPECTED, "client")
    assert all(len(reason) > 20 for reason in reasons.values()), reasons
