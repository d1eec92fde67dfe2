"""What the client commands share: target and input options, `-- COMMAND` parsing, running async code."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mcpctl import envvars
from mcpctl.cli import completers
from mcpctl.cli.answering import DEFAULT_TIMEOUT
from mcpctl.cli.usage import McpctlCommand

__all__ = ["DEFAULT_TIMEOUT"]

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.progress import ProgressDisplay
    from mcpctl.client.targets import Target

T = TypeVar("T")
COMMAND_KEY = "mcpctl.command"
TARGET_HELP = (
    "\n\nTarget: the running host by default (`mcpctl serve`, found through its state file; honours "
    f"{envvars.HOME}); --url URL for any MCP server over HTTP (default ${envvars.URL}); --server NAME "
    "for a configured server (through the host when it serves it, else started directly); or "
    "-- COMMAND ARGS... for a stdio server started just for this command."
)


class DashDashCommand(McpctlCommand):
    """Takes `-- COMMAND ARGS...` off the end before parsing, so it never mixes with key=value arguments."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if "--" in args:
            index = args.index("--")
            ctx.meta[COMMAND_KEY] = args[index + 1 :]
            args = args[:index]
        return super().parse_args(ctx, args)


def dash_command(ctx: typer.Context) -> list[str]:
    command = ctx.meta.get(COMMAND_KEY)
    return list(command) if command else []


# Option types shared by the commands (typer reads the Annotated metadata).

Url = Annotated[
    str | None,
    typer.Option(
        "--url", metavar="URL", help=f"An MCP server's URL (Streamable HTTP or HTTP+SSE). Env: {envvars.URL}."
    ),
]
Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        metavar="NAME",
        help="A configured server, by name.",
        autocompletion=completers.server_names,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", metavar="FILE", help=f"Configuration file for --server. Env: {envvars.CONFIG}."
    ),
]
Headers = Annotated[
    list[str] | None,
    typer.Option("--header", "-H", metavar="'NAME: VALUE'", help="An HTTP header for --url (repeatable)."),
]
Key = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="NAME",
        help=f"The local API key to present (see `mcpctl keys list`). Default: {envvars.API_KEY}, else "
        "the oldest key with access to every tool.",
    ),
]
Timeout = Annotated[
    float, typer.Option("--timeout", metavar="S", help="Give up (and cancel) after S seconds.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the raw JSON result, for scripts.")]
Roots = Annotated[
    list[Path] | None,
    typer.Option(
        "--root",
        metavar="PATH",
        help="A root offered to the server (repeatable; default: the current directory).",
    ),
]
NoInput = Annotated[
    bool, typer.Option("--no-input", help="Never ask: fail if the server asks for input (elicitation).")
]
Yes = Annotated[
    bool, typer.Option("--yes", "-y", help="Answer the server's forms with their defaults, without asking.")
]
SamplingCommand = Annotated[
    str | None,
    typer.Option(
        "--sampling-command",
        metavar="CMD",
        help="Answer sampling requests with CMD (request JSON on stdin; result JSON or text on stdout). "
        "Default: refuse.",
    ),
]
SaveDir = Annotated[
    Path | None,
    typer.Option(
        "--save-dir",
        metavar="DIR",
        help="Where images, audio and blobs are saved (default: the data directory's files/).",
    ),
]


# Building the pieces a command needs.


def target_of(
    ctx: typer.Context,
    url: str | None,
    server: str | None,
    config: Path | None,
    headers: Sequence[str] | None,
    key: str | None = None,
) -> Target:
    from mcpctl.cli.console import Console
    from mcpctl.client.targets import TargetOptions, resolve
    from mcpctl.paths import Paths

    options = TargetOptions(
        url=url,
        server=server,
        command=dash_command(ctx),
        config=config,
        headers=parse_headers(headers or []),
        key=key,
    )
    return resolve(options, Paths.from_env(), Console())


def parse_headers(values: Sequence[str]) -> dict[str, str]:
    from mcpctl.errors import UsageError

    headers: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {value!r} is not 'Name: value'")
        headers[name.strip()] = text.strip()
    return headers


def answerer_of(
    target: Target,
    console: Console,
    progress: ProgressDisplay | None,
    *,
    roots: Sequence[Path] | None,
    no_input: bool,
    yes: bool,
    sampling_command: str | None,
) -> CliAnswerer:
    """How this command answers the server (see cli.answering.answerer_for)."""
    from mcpctl.cli.answering import answerer_for

    return answerer_for(
        target.endpoint.label,
        console,
        progress,
        roots=roots,
        no_input=no_input,
        yes=yes,
        sampling_command=sampling_command,
    )


def log_printer(console: Console, label: str) -> Any:
    from mcpctl.cli.answering import log_printer as printer

    return printer(console, label)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run the command's coroutine; Ctrl-C cancels it (requests are cancelled) and exits 130."""
    import asyncio

    return asyncio.run(coro)


def run_client(target: Target, coro: Coroutine[Any, Any, T]) -> T:
    """run_async for a command that talks to `target`: a refusal also says what was tried (which
    key, or why none could be read) and gives a fix that runs as printed."""
    from mcpctl.errors import AuthError

    try:
        return run_async(coro)
    except AuthError as exc:
        from mcpctl.client.targets import explain_refusal

        raise explain_refusal(exc, target) from exc


def save_dir_of(option: Path | None) -> Path:
    from mcpctl.cli.answering import save_dir_of as where

    return where(option)
