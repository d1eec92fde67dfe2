"""The router, the JSON-RPC helpers and the audit trail behave the same when mypyc compiles them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.compiled import MODULES, compiled_copy

# Their own tests, on the compiled copy: the router's (pure logic), the protocol's, the audit trail's.
SUITES = ("tests/router", "tests/protocol", "tests/audit")
# Before pytest starts, the compiled modules are imported from the copy (and stay the ones used),
# and each is checked to be an extension, not its source.
RUN = """
import importlib, sys
import pytest
names = sys.argv[1].split()
interpreted = [n for n in names if not importlib.import_module(n).__file__.endswith(".so")]
if interpreted:
    sys.exit(f"interpreted, not compiled: {interpreted}")
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[2:]]))
"""


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_pure_modules_pass_their_own_tests_compiled(tmp_path: Path) -> None:
    source = compiled_copy(tmp_path, with_tests=True)
    names = " ".join(m.removesuffix(".py").replace("/", ".") for m in MODULES)
    run = subprocess.run(
        [sys.executable, "-c", RUN, names, *SUITES],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None and int(passed.group(1)) > 300, output[-3000:]
