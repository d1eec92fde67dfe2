"""The `mcpctl` program: `call` through a running host takes the fast path, everything else the full CLI."""

from __future__ import annotations

import sys


def run() -> None:
    """Entry point (console script and `python -m mcpctl`)."""
    argv = sys.argv[1:]
    if argv[:1] == ["call"]:
        try:
            from mcpctl.cli.fastcall import run as fast

            code = fast(argv[1:])
        except KeyboardInterrupt:
            sys.exit(130)
        if code is not None:
            sys.exit(code)
    from mcpctl.cli.main import run as full

    full()
