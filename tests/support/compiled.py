"""The compiled build of mcpctl, made as `HATCH_BUILD_HOOK_ENABLE_MYPYC=true pip install .` makes it,
unpacked into a folder to run from (`python -m mcpctl` there uses it), for tests and benchmarks.

pyproject.toml names the modules mypyc compiles (the hook's include and exclude). The build needs
mypy, hatchling and hatch-mypyc (test extras, pinned by tests/constraints.txt), a C compiler and
Python's headers.

What compiling asks of the source: a dataclass field's annotation must be a name the module holds
(`Any`, not the builtin `object`), and the router loads as a whole (its __init__), since a
compiled module checks at run time the classes it names only for type checking: imported before
their module was, it crashed (`import mcpctl.router.actions` alone did).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.support.host import ROOT

BUILD_TIMEOUT = 900.0  # seconds: about a minute on the 2-core machine
_SKIP = shutil.ignore_patterns("__pycache__", "*.so", "node_modules", ".pytest_cache")


def configured_modules() -> list[str]:
    """The modules pyproject.toml has compiled, as dotted names."""
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    config = wheel["hooks"]["mypyc"]
    excluded = {ROOT / entry.lstrip("/") for entry in config["exclude"]}
    files: list[Path] = []
    for entry in config["include"]:
        path = ROOT / entry.lstrip("/")
        files += sorted(path.glob("*.py")) if path.is_dir() else [path]
    return [".".join(f.relative_to(ROOT).with_suffix("").parts) for f in files if f not in excluded]


def compiled_copy(work: Path, *, with_tests: bool = False) -> Path:
    """A folder holding the compiled build's mcpctl; `with_tests` adds the tests, fixtures and
    pytest's settings, to run the tests on it."""
    # The build runs on a copy of the sources: hatch-mypyc leaves the compiled modules beside them,
    # where they would shadow the sources of the checkout's editable install.
    tree = work / "tree"
    shutil.copytree(ROOT / "mcpctl", tree / "mcpctl", ignore=_SKIP)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    print("building the compiled wheel (mypyc, about a minute)...", file=sys.stderr, flush=True)
    pip_wheel = ["wheel", "-q", "--no-deps", "--no-build-isolation", "--wheel-dir", "dist"]
    build = subprocess.run(
        [sys.executable, "-m", "pip", *pip_wheel, "./tree"],  # ("tree" alone would name a project on PyPI)
        cwd=work,
        env={**os.environ, "HATCH_BUILD_HOOK_ENABLE_MYPYC": "true"},
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT,
    )
    wheels = list((work / "dist").glob("mcpctl-*.whl"))
    if build.returncode != 0 or len(wheels) != 1 or wheels[0].name.endswith("-none-any.whl"):
        raise RuntimeError(
            f"the compiled build failed (pip exit {build.returncode}, wheels {[w.name for w in wheels]}):\n"
            f"{(build.stdout + build.stderr)[-3000:]}"
        )
    source = work / "compiled"
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(source, [n for n in wheel.namelist() if ".dist-info/" not in n])
    if with_tests:
        shutil.copytree(ROOT / "tests", source / "tests", ignore=_SKIP)
        shutil.copytree(ROOT / "fixtures", source / "fixtures", ignore=_SKIP)
        shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
    return source
