"""Running the official conformance suite (@modelcontextprotocol/conformance) and reading its verdicts."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.support.host import ROOT
from tests.support.node import CONFORMANCE, NODE_BIN

ADAPTER = "tests/conformance/client"  # mcpctl as the suite's client (relative to ROOT)
# The suite names each scenario's folder `<scenario>-<ISO time with : and . as ->`.
TIMESTAMP = re.compile(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$")

Checks = list[dict[str, object]]


def run_suite(
    role: str,
    args: list[str],
    output: Path,
    env: Mapping[str, str] | None = None,
    *,
    scenarios: str = "*",
) -> tuple[int, dict[str, Checks]]:
    """`conformance ROLE ARGS -o OUTPUT`: its exit code and each scenario's checks by scenario name.

    Node and this checkout's venv come first on PATH, and no MCPCTL_* setting of the caller leaks
    in. `scenarios` globs the scenario folders read under OUTPUT (auth/* ones sit a level deeper).
    """
    env = {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("MCPCTL_")}
    env["PATH"] = f"{NODE_BIN}:{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    proc = subprocess.run(
        [str(CONFORMANCE), role, *args, "-o", str(output)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    results: dict[str, Checks] = {}
    for checks in output.glob(f"{scenarios}/checks.json"):
        # server scenarios' folders carry the role too: `server-<scenario>-<time>`
        name = TIMESTAMP.sub("", checks.parent.relative_to(output).as_posix()).removeprefix("server-")
        results[name] = json.loads(checks.read_text())
    assert results, f"the suite produced no results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.returncode, results


def client_output(output: Path, scenario: str, chars: int = 1500) -> str:
    """The end of what the client command printed in one scenario (its stdout, then its stderr), so
    that a failure that happens only under load says what the client saw."""
    printed = []
    for folder in sorted(output.glob(f"{scenario}-*")):
        if TIMESTAMP.sub("", folder.relative_to(output).as_posix()) != scenario:
            continue  # another scenario whose name starts with this one's
        for stream in ("stdout.txt", "stderr.txt"):
            path = folder / stream
            if path.exists():
                printed.append(f"[{stream}] {path.read_text(errors='replace')[-chars:]}")
    return "\n".join(printed)


def failure_details(results: dict[str, Checks], names: Iterable[str], output: Path) -> dict[str, list[str]]:
    """For each scenario in `names`: its checks that did not succeed (id: why), then what the client
    printed (see client_output)."""
    return {
        name: [
            *(
                f"{c.get('id')}: {c.get('errorMessage') or c.get('description')}"
                for c in results[name]
                if c.get("status") != "SUCCESS"
            ),
            client_output(output, name),
        ]
        for name in names
    }


def failing(results: dict[str, Checks], statuses: Iterable[str] = ("FAILURE",)) -> set[str]:
    """The scenarios with a check in one of `statuses`."""
    bad = frozenset(statuses)
    return {name for name, checks in results.items() if any(c.get("status") in bad for c in checks)}


def passed_checks(results: dict[str, Checks]) -> int:
    return sum(1 for checks in results.values() for c in checks if c.get("status") == "SUCCESS")


def expected_failures(path: Path, section: str) -> dict[str, str]:
    """scenario -> reason, from the `section:` mapping of an expected-failures file.

    A tiny YAML subset: a top-level `section:` (`section: {}` when empty), then `  name: reason`
    lines, a reason folded (`>-`) onto the more deeply indented lines after it; `#` starts a comment.
    """
    reasons: dict[str, str] = {}
    current_section = name = None
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].rstrip()
        if not text:
            continue
        if not text.startswith(" "):
            current_section, name = text.partition(":")[0], None
        elif current_section != section:
            continue
        elif not text.startswith("    ") and ":" in text:
            name, _, reason = text.strip().partition(":")
            reasons[name] = reason.strip().removeprefix(">-").strip()
        elif name is not None:
            reasons[name] = f"{reasons[name]} {text.strip()}".strip()
    return reasons
