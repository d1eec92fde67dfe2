"""Arrows point down: library code never imports the command line (`mcpctl.cli`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mcpctl"
ENTRY_POINTS = {PACKAGE / "__main__.py"}


def _cli_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        found += [f"{where} imports {name}" for name in names if _is_cli(name)]
    return found


def _is_cli(module: str) -> bool:
    return module == "mcpctl.cli" or module.startswith("mcpctl.cli.")


def test_library_code_never_imports_the_cli() -> None:
    library = [p for p in PACKAGE.rglob("*.py") if PACKAGE / "cli" not in p.parents and p not in ENTRY_POINTS]
    assert len(library) > 50  # the walk found the package
    offenders = [line for path in library for line in _cli_imports(path)]
    assert offenders == []
