"""The import contract: it names every top-level module, and it fails when a forbidden import is added."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]  # type: ignore[no-any-return]


def top_level_modules() -> set[str]:
    package = ROOT / "mcpctl"
    names = {f"mcpctl.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    names |= {f"mcpctl.{p.parent.name}" for p in package.glob("*/__init__.py")}
    return names


def test_the_purity_contracts_name_every_other_top_level_module() -> None:
    by_name = {str(c["name"]): c for c in contracts()}
    protocol = next(c for name, c in by_name.items() if name.startswith("protocol is wire knowledge"))
    router = next(c for name, c in by_name.items() if name.startswith("The router decides"))
    expected = top_level_modules() - {"mcpctl.protocol"}
    assert set(protocol["forbidden_modules"]) == expected  # type: ignore[arg-type]
    assert expected - {"mcpctl.router"} <= set(router["forbidden_modules"])  # type: ignore[arg-type]


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(linter), "--config", str(tree / "pyproject.toml")],
        check=False,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


def test_the_contract_holds_and_breaks_when_the_router_imports_the_gateway(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "mcpctl", tree / "mcpctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    kept = lint(tree)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    sneaky = tree / "mcpctl" / "router" / "sneaky.py"
    sneaky.write_text('"""A shortcut nobody should take."""\n\nfrom mcpctl.gateway.pump import Gateway\n')
    broken = lint(tree)
    assert broken.returncode != 0
    assert "mcpctl.router.sneaky -> mcpctl.gateway.pump" in broken.stdout
