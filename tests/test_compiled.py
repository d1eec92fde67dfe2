"""The compiled build (mypyc) behaves as the interpreted one: the compiled modules' own tests pass on it."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from tests.support.compiled import compiled_copy, configured_modules

# Their own tests, on the compiled build: the router's (pure logic), the protocol's, the audit trail's.
SUITES = ("tests/router", "tests/protocol", "tests/audit")
# Before pytest starts, the compiled modules are imported from the build (and stay the ones used),
# and each is checked to be an extension, not its source.
RUN = """
import importlib, sys
import pytest
names = sys.argv[1].split()
interpreted = [n for n in names if not importlib.import_module(n).__file__.endswith(sys.argv[2])]
if interpreted:
    sys.exit(f"interpreted, not compiled: {interpreted}")
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[3:]]))
"""


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_compiled_build_passes_the_compiled_modules_own_tests(tmp_path: Path) -> None:
    source = compiled_copy(tmp_path, with_tests=True)
    names = configured_modules()
    built = sorted(
        {
            ".".join((*path.relative_to(source).parent.parts, path.name.split(".")[0]))
            for suffix in EXTENSION_SUFFIXES
            for path in (source / "mcpctl").rglob("*" + suffix)
        }
    )
    assert built == sorted(names), "the wheel compiled other modules than pyproject.toml names"
    version = subprocess.run(
        [sys.executable, "-m", "mcpctl", "--version"], cwd=source, capture_output=True, text=True, check=True
    )
    assert version.stdout.endswith(" (compiled with mypyc)\n"), version.stdout
    run = subprocess.run(
        [sys.executable, "-c", RUN, " ".join(names), EXTENSION_SUFFIXES[0], *SUITES],
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
