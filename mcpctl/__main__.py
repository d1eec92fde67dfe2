"""Entry point for `python -m mcpctl`."""

from mcpctl.cli.main import run

run()
