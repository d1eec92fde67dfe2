"""Hypothesis settings for property tests: no example database on disk, no flaky per-example deadline."""

from __future__ import annotations

from hypothesis import settings

# database=None: nothing written into the working tree; deadline=None: a slow CI core must not
# turn a passing property into a flaky failure.
settings.register_profile("mcpctl", database=None, deadline=None)
settings.load_profile("mcpctl")
