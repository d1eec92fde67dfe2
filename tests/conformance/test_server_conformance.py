"""The official conformance suite's server scenarios against `mcpctl serve -- conformance_server.py`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.suite import expected_failures, failing, passed_checks, run_suite
from tests.support.host import HostProcess, fixture, start_host

pytestmark = pytest.mark.slow  # the official conformance suite (Node)

EXPECTED = Path(__file__).with_name("server-expected-failures.yaml")


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


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_server_scenarios_pass(conformance_host: HostProcess, revision: str, tmp_path: Path) -> None:
    code, results = run_suite("server", ["--url", conformance_host.url, "--requirements", revision], tmp_path)
    failed = failing(results)
    expected = set(expected_failures(EXPECTED, revision))
    assert failed - expected == set(), f"unexpected failures: {sorted(failed - expected)}"
    assert expected - failed == set(), (
        f"now passing, remove from {EXPECTED.name}: {sorted(expected - failed)}"
    )
    assert code == 0
    passed = passed_checks(results)
    assert passed > 50, f"suspiciously few passing checks: {passed}"


def test_every_expected_failure_has_a_reason() -> None:
    reasons = {**expected_failures(EXPECTED, "2025-11-25"), **expected_failures(EXPECTED, "2026-07-28")}
    assert reasons
    assert all(len(reason) > 20 for reason in reasons.values()), reasons
