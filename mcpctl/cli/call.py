"""`mcpctl call TOOL key=value ...`: call one tool on the host, a URL, a configured server or a command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mcpctl.cli import clientopts as opts
from mcpctl.cli import completers

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.progress import ProgressDisplay
    from mcpctl.client.targets import Target

HELP = (
    "Call a tool and print its result.\n\n"
    "Arguments: key=value (coerced by the tool's input schema: numbers, booleans, arrays, "
    "objects), key:=JSON (any JSON value), --args JSON | @FILE | - (stdin) for a whole object; "
    "key=value pairs override --args. They are checked against the schema before sending.\n\n"
    "Output: text as is, JSON pretty-printed, images and audio saved to files (their paths are "
    "printed), resource links listed. --json prints the raw result.\n\n"
    "Exit codes: 0 success, 1 the tool reported an error (isError), 2 usage or invalid "
    "arguments, 3 server unreachable or unavailable, 4 authentication or authorization failed, "
    "130 interrupted (Ctrl-C cancels the request at the server)." + opts.TARGET_HELP
)


def register(app: typer.Typer) -> None:
    app.command("call", cls=opts.DashDashCommand, help=HELP, no_args_is_help=True)(call)


def call(
    ctx: typer.Context,
    tool: str = typer.Argument(..., metavar="TOOL", help="The tool's name.", autocompletion=completers.tool_names),
    pairs: list[str] | None = typer.Argument(None, metavar="[key=value | key:=json]...", help="Tool arguments."),
    args: str | None = typer.Option(None, "--args", metavar="JSON|@FILE|-", help="All arguments as one JSON object."),
    check: bool = typer.Option(True, "--validate/--no-validate", help="Check arguments against the tool's schema first."),
    url: str | None = opts.url_option(),
    server: str | None = opts.server_option(),
    config: Path | None = opts.config_option(),
    headers: list[str] = opts.header_option(),
    as_json: bool = opts.json_option(),
    timeout: float = opts.timeout_option(),
    roots: list[Path] = opts.root_option(),
    no_input: bool = opts.no_input_option(),
    yes: bool = opts.yes_option(),
    sampling_command: str | None = opts.sampling_option(),
    save_dir: Path | None = opts.save_dir_option(),
) -> None:
    import sys

    from mcpctl.cli.console import Console
    from mcpctl.client.arguments import base_arguments
    from mcpctl.client.progress import ProgressDisplay

    console = Console()
    base = base_arguments(args, sys.stdin.read)
    target = opts.target_of(ctx, url, server, config, headers)
    progress = ProgressDisplay(console.err, tool)
    answerer = opts.answerer_of(target, console, progress, roots=roots, no_input=no_input, yes=yes,
                                sampling_command=sampling_command)  # fmt: skip
    try:
        result = opts.run_async(_call(target, answerer, console, progress, tool, list(pairs or []), base, timeout, check))
    finally:
        progress.close()
    _show(result, console, tool, as_json=as_json, save_dir=opts.save_dir_of(save_dir))


async def _call(
    target: Target,
    answerer: CliAnswerer,
    console: Console,
    progress: ProgressDisplay,
    tool: str,
    pairs: list[str],
    base: dict[str, Any],
    timeout: float,
    check: bool,
) -> dict[str, Any]:
    import asyncio

    from mcpctl.client.arguments import parse_pairs, suggest, validate
    from mcpctl.client.session import ClientSession
    from mcpctl.client.toolcheck import header_problems
    from mcpctl.errors import UsageError

    label = target.endpoint.label
    try:
        async with ClientSession(target.endpoint, answerer, on_log=opts.log_printer(console, label),
                                 startup_timeout=timeout) as session:  # fmt: skip
            tools = await session.list("tools")
            by_name = {t["name"]: t for t in tools if isinstance(t.get("name"), str)}
            names = target.names(list(by_name))
            wire = names.get(tool) or (tool if tool in names.values() else None)
            if wire is None:
                close = suggest(tool, list(names))
                raise UsageError(
                    f"no tool named {tool!r} on {label}",
                    hint=(f"did you mean {', '.join(close)}? " if close else "") + "(`mcpctl tools` lists them)",
                )
            schema = by_name[wire].get("inputSchema")
            problems = header_problems(schema)
            if problems:
                raise UsageError(f"{tool} declares invalid x-mcp-header annotations, so mcpctl will not call it: "
                                 + "; ".join(problems))  # fmt: skip
            arguments = {**base, **parse_pairs(pairs, schema)}
            if check:
                validate(arguments, schema, tool)
            return await session.request(
                "tools/call", {"name": wire, "arguments": arguments}, timeout=timeout, on_progress=progress.update
            )
    except asyncio.CancelledError:
        progress.close()
        console.info("interrupted: the request was cancelled")
        raise


def _show(result: dict[str, Any], console: Console, tool: str, *, as_json: bool, save_dir: Path) -> None:
    from mcpctl.client.errors import ToolError
    from mcpctl.client.render import Renderer, error_text

    failed = result.get("isError") is True
    if as_json:
        console.json(result)
        if failed:
            raise ToolError(f"{tool} reported an error (isError)")
        return
    if failed:
        text = error_text(result)
        if text is not None:
            raise ToolError(text)
    Renderer(console, save_dir, tool).tool_result(result)
    if failed:
        raise ToolError(f"{tool} reported an error (isError)")
