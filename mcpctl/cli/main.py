"""The `mcpctl` command: the typer app, its command groups, and the one place that exits."""

from __future__ import annotations

import sys

import typer

from mcpctl import __version__, compiled
from mcpctl.cli import (
    call,
    completions,
    config_cmd,
    deploy,
    keys,
    listing,
    login,
    logs,
    request,
    secrets,
    serve,
    servers,
)
from mcpctl.cli.usage import new_app

app = new_app(
    name="mcpctl",
    help="A developer CLI and local multi-server host for the Model Context Protocol.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mcpctl {__version__}" + (" (compiled with mypyc)" if compiled() else ""))
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
request.register(app)
servers.register(app)
completions.register(app)
keys.register(app)
secrets.register(app)
login.register(app)
deploy.register(app)


def run(argv: list[str] | None = None) -> None:
    """Entry point: runs the app; McpctlError becomes a message on stderr and its exit code.

    Usage errors (click's, wherever typer keeps it) become one line and a fix, exit 2; a command
    that needs arguments and got none prints its help on stderr, exit 2.
    """
    from mcpctl.cli import usage
    from mcpctl.errors import ExitCode, McpctlError

    try:
        code = app(args=argv, prog_name=usage.PROG, standalone_mode=False)
    except McpctlError as exc:
        from mcpctl.cli.console import Console

        Console().error(str(exc))
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except usage.NoArguments as exc:
        sys.stderr.write(exc.ctx.get_help() + "\n")
        sys.exit(int(ExitCode.USAGE))
    except Exception as exc:
        exit_code = usage.exit_code_of(exc)
        if exit_code is not None:
            sys.exit(exit_code)
        if usage.is_abort(exc):
            sys.exit(int(ExitCode.INTERRUPTED))
        problem = usage.explain(exc)
        if problem is None:
            raise
        from mcpctl.cli.console import Console

        Console().error(str(McpctlError(problem[0], hint=problem[1])))
        sys.exit(int(ExitCode.USAGE))
    sys.exit(code if isinstance(code, int) else 0)
