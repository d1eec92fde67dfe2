"""A copy of mcpctl with its pure, typed modules compiled by mypyc: what a compiled build would run.

This measures what compiling the modules where a call spends its Python time would buy (issue 15),
and checks that they behave the same compiled, before any build ships them. The modules: the
router (the gateway's decisions), the JSON-RPC helpers, eras and catalog, and the audit trail's
record shaping, redaction and sealing. Left out: router/hooks.py, whose NoHooks other parts
subclass (an interpreted class cannot subclass a compiled one); the edge and its helpers (compiled
too, they measured no further gain); the pump (mypyc cannot compile its async generator). mypyc
comes with mypy (a test extra); it needs a C compiler and Python's headers.

What compiling asks of the source: a dataclass field's annotation must be a name the module
holds (`Any`, not the builtin `object`), and the router loads as a whole (its __init__), since a
compiled module checks at run time the classes it names only for type checking.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.host import ROOT

MODULES = (
    *sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "mcpctl" / "router").glob("*.py")
        if path.name != "hooks.py"
    ),
    "mcpctl/protocol/jsonrpc.py",
    "mcpctl/protocol/eras.py",
    "mcpctl/protocol/catalog.py",
    "mcpctl/audit/redact.py",
    "mcpctl/audit/records.py",
    "mcpctl/audit/chain.py",
)
BUILD_TIMEOUT = 900.0  # seconds: about one to two minutes on the 2-core machine


def compiled_copy(work: Path, *, with_tests: bool = False) -> Path:
    """A folder holding a copy of mcpctl with MODULES compiled (`python -m mcpctl` run in it uses
    them); `with_tests` adds the tests, fixtures and pytest's settings, to run the tests on them."""
    source = work / "compiled"
    skip = shutil.ignore_patterns("__pycache__", "*.so", "node_modules", ".pytest_cache")
    shutil.copytree(ROOT / "mcpctl", source / "mcpctl", ignore=skip)
    print(f"compiling {len(MODULES)} modules with mypyc (a minute or two)...", file=sys.stderr, flush=True)
    build = subprocess.run(
        [sys.executable, "-m", "mypyc", "--config-file", str(ROOT / "pyproject.toml"), *MODULES],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT,
    )
    # setuptools builds under build/lib.*: each extension goes next to its source (where the import
    # system looks first), the runtime library the group shares to the top.
    for lib in source.glob("build/lib.*"):
        for built in lib.rglob("*.so"):
            shutil.copy2(built, source / built.relative_to(lib))
    missing = [m for m in MODULES if not list((source / m).parent.glob(Path(m).stem + ".*.so"))]
    if build.returncode != 0 or missing:
        raise RuntimeError(
            f"mypyc could not build {missing or 'the modules'} (exit {build.returncode}):\n"
            f"{(build.stdout + build.stderr)[-3000:]}"
        )
    if with_tests:  # after the build: setuptools, run by mypyc, would read the settings file
        shutil.copytree(ROOT / "tests", source / "tests", ignore=skip)
        shutil.copytree(ROOT / "fixtures", source / "fixtures", ignore=skip)
        shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
    return source
