"""The limits part's call hook is installed only where it has something to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcpctl.audit.redact import KnownSecrets
from mcpctl.config.models import Config
from mcpctl.extension import PartContext
from mcpctl.limits.hooks import CallGuard
from mcpctl.limits.wiring import build
from mcpctl.paths import Paths


def part_hooks(tmp_path: Path, breaker: bool, rules: list[dict[str, Any]]) -> list[object]:
    config = Config.model_validate(
        {"servers": {"echo": {"command": "x", "breaker": {"enabled": breaker}}}, "limits": {"rules": rules}}
    )
    context = PartContext(
        config=config,
        paths=Paths.from_env({"MCPCTL_HOME": str(tmp_path)}),
        secrets=KnownSecrets(),
        fleet=None,
        status=None,  # type: ignore[arg-type]  # building the part reads no status
        end_streams=lambda holds: None,
        collectors=[],
    )
    return list(build(context).hooks)


@pytest.mark.parametrize(
    ("breaker", "rules", "guarded"),
    [
        (True, [], True),
        (False, [{"scope": "tool", "requests": 5, "per": "1s"}], True),
        (False, [{"scope": "global", "requests": 5, "per": "1s", "level": "http"}], False),  # a layer's
        (False, [], False),
    ],
)
def test_the_call_guard_runs_only_with_a_breaker_or_a_call_rule(
    tmp_path: Path, breaker: bool, rules: list[dict[str, Any]], guarded: bool
) -> None:
    hooks = part_hooks(tmp_path, breaker, rules)
    assert [type(hook) for hook in hooks] == ([CallGuard] if guarded else [])
