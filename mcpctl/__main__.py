"""Entry point for `python -m mcpctl`."""

from mcpctl.cli.entry import run

run()
