"""Plugs the limits part into the host (a stub until the part is built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcpctl.extension import Extension

if TYPE_CHECKING:
    from mcpctl.host import Host


def build(host: Host) -> Extension:
    return Extension()
