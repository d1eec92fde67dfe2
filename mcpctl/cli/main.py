"""The `mcpctl` command: the typer app, its command groups, and the one place that exits."""

from __future__ import annotations

import sys

import typer

from mcpctl import __version__
from mcpctl.cli import (
    call,
    completions,
    config_cmd,
    deploy,
    keys,
    listing,
    login,
    logs,
    secrets,
    serve,
    servers,
)

app = typer.Typer(
    name="mcpctl",
    help="A developer CLI and local multi-server host for the Model Context Protocol.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mcpctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """mcpctl: run many MCP servers as one secured endpoint, and use them from the shell."""


serve.register(app)
config_cmd.register(app)
logs.register(app)
call.register(app)
listing.register(app)
servers.register(app)
completions.register(app)
keys.register(app)
secrets.register(app)
login.register(app)
deploy.register(app)


def run() -> None:
    """Entry point: runs the app; McpctlError becomes a message on stderr and its exit code."""
    from mcpctl.errors import ExitCode, McpctlError

    try:
        code = app(standalone_mode=False)
    except McpctlError as exc:
        from mcpctl.cli.console import Console

        Console().error(str(exc))
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(int(ExitCode.USAGE))
        raise
    sys.exit(code if isinstance(code, int) else 0)
