"""`mcpctl call TOOL key=value ...`: call one tool on the host, a URL, a configured server or a command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli import clientopts as opts
from mcpctl.cli import completers

if TYPE_CHECKING:
    from pathlib import Path

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
    tool: Annotated[
        str, typer.Argument(metavar="TOOL", help="The tool's name.", autocompletion=completers.tool_names)
    ],
    pairs: Annotated[
        list[str] | None, typer.Argument(metavar="[key=value | key:=json]...", help="Tool arguments.")
    ] = None,
    *,
    args: Annotated[
        str | None, typer.Option("--args", metavar="JSON|@FILE|-", help="All arguments as one JSON object.")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--validate/--no-validate", help="Check arguments against the tool's schema first."),
    ] = True,
    url: opts.Url = None,
    server: opts.Server = None,
    config: opts.ConfigFile = None,
    headers: opts.Headers = None,
    as_json: opts.AsJson = False,
    timeout: opts.Timeout = opts.DEFAULT_TIMEOUT,
    roots: opts.Roots = None,
    no_input: opts.NoInput = False,
    yes: opts.Yes = False,
    sampling_command: opts.SamplingCommand = None,
    save_dir: opts.SaveDir = None,
) -> None:
    import sys

    from mcpctl.cli.console import Console
    from mcpctl.client.arguments import base_arguments
    from mcpctl.client.progress import ProgressDisplay

    console = Console()
    base = base_arguments(args, sys.stdin.read)
    target = opts.target_of(ctx, url, server, config, headers)
    progress = ProgressDisplay(console.err, tool)
    answerer = opts.answerer_of(
        target, console, progress, roots=roots, no_input=no_input, yes=yes, sampling_command=sampling_command
    )
    request = CallRequest(tool, list(pairs or []), base, timeout, check)
    try:
        result = opts.run_async(_call(target, answerer, console, progress, request))
    finally:
        progress.close()
    _show(result, console, tool, as_json=as_json, save_dir=opts.save_dir_of(save_dir))


@dataclass(frozen=True)
class CallRequest:
    """What the person asked for: the tool, its arguments as typed, and how to send them."""

    tool: str
    pairs: list[str]
    base: dict[str, Any]
    deadline: float  # seconds
    check: bool


async def _call(
    target: Target, answerer: CliAnswerer, console: Console, progress: ProgressDisplay, request: CallRequest
) -> dict[str, Any]:
    import asyncio

    from mcpctl.client.arguments import parse_pairs, suggest, validate
    from mcpctl.client.session import ClientSession
    from mcpctl.client.toolcheck import header_problems
    from mcpctl.errors import UsageError

    label, tool = target.endpoint.label, request.tool
    log = opts.log_printer(console, label)
    try:
        async with ClientSession(
            target.endpoint, answerer, on_log=log, startup_timeout=request.deadline
        ) as session:
            tools = await session.list("tools")
            by_name = {t["name"]: t for t in tools if isinstance(t.get("name"), str)}
            names = target.names(list(by_name))
            wire = names.get(tool) or (tool if tool in names.values() else None)
            if wire is None:
                close = suggest(tool, list(names))
                raise UsageError(
                    f"no tool named {tool!r} on {label}",
                    hint=(f"did you mean {', '.join(close)}? " if close else "")
                    + "(`mcpctl tools` lists them)",
                )
            schema = by_name[wire].get("inputSchema")
            problems = header_problems(schema)
            if problems:
                problem = "; ".join(problems)
                raise UsageError(
                    f"{tool} declares invalid x-mcp-header annotations, so mcpctl will not call it: {problem}"
                )
            arguments = {**request.base, **parse_pairs(request.pairs, schema)}
            if request.check:
                validate(arguments, schema, tool)
            params = {"name": wire, "arguments": arguments}
            return await session.request(
                "tools/call", params, within=request.deadline, on_progress=progress.update
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
