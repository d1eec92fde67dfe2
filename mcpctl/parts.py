"""The optional parts `mcpctl serve` composes, in the order their call hooks run."""

from __future__ import annotations

from mcpctl.extension import Builder


def default_builders() -> tuple[Builder, ...]:
    # Order matters: audit is built first so the others can record through `context.audit`; at call
    # time policy (auth) refuses before limits count, and every hook sees every outcome.
    from mcpctl.audit.wiring import build as audit
    from mcpctl.auth.wiring import build as auth
    from mcpctl.limits.wiring import build as limits
    from mcpctl.metrics.wiring import build as metrics

    return (audit, auth, limits, metrics)
