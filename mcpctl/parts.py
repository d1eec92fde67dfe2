"""The optional parts `mcpctl serve` composes, in the order their call hooks run."""

from __future__ import annotations

from mcpctl.extension import Builder


def default_builders() -> tuple[Builder, ...]:
    # Order matters: policy refuses before limits count, audit sees every outcome, metrics last.
    from mcpctl.audit.wiring import build as audit
    from mcpctl.auth.wiring import build as auth
    from mcpctl.limits.wiring import build as limits
    from mcpctl.metrics.wiring import build as metrics

    return (auth, limits, audit, metrics)
