"""`mcpctl call TOOL key=value ...`: call one tool on the host, a URL, a configured server or a command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli import clientopts as opts
from mcpctl.cli import completers

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.progress import ProgressDisplay
    from mcpctl.client.targets import Target
    from mcpctl.client.toolcall import CallRequest, NoSuchTool
    from mcpctl.errors import McpctlError

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


TOOL_HELP_KEY = "mcpctl.tool_help"
HELP_FLAGS = ("--help", "-h")


class CallCommand(opts.DashDashCommand):
    """`mcpctl call TOOL --help` shows the tool's own arguments; `mcpctl call --help` the command's."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        if not any(a in HELP_FLAGS for a in args[:end]):
            return super().parse_args(ctx, args)
        rest = [a for a in args[:end] if a not in HELP_FLAGS] + args[end:]
        try:
            parsed = super().parse_args(ctx, rest)
        except Exception:  # no TOOL (or another mistake): the command's own help, as asked
            return super().parse_args(ctx, args)
        ctx.meta[TOOL_HELP_KEY] = True
        return parsed


def register(app: typer.Typer) -> None:
    app.command("call", cls=CallCommand, help=HELP, no_args_is_help=True)(call)


def call(
    ctx: typer.Context,
    tool: Annotated[
        str, typer.Argument(metavar="TOOL", help="The tool's name.", autocompletion=completers.tool_names)
    ],
    pairs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[key=value | key:=json]...",
            help="Tool arguments (`mcpctl call TOOL --help` lists them).",
            autocompletion=completers.argument_names,
        ),
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
    key: opts.Key = None,
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
    from mcpctl.client.render import show_tool_result
    from mcpctl.client.toolcall import CallRequest, NoSuchTool

    console = Console()
    target = opts.target_of(ctx, url, server, config, headers, key)
    if ctx.meta.get(TOOL_HELP_KEY):
        _tool_help(target, console, tool, timeout)
        return
    base = base_arguments(args, sys.stdin.read)
    progress = ProgressDisplay(console.err, tool)
    answerer = opts.answerer_of(
        target, console, progress, roots=roots, no_input=no_input, yes=yes, sampling_command=sampling_command
    )
    request = CallRequest(tool, list(pairs or []), base, timeout, check)
    try:
        result = opts.run_client(target, _call(target, answerer, console, progress, request))
    except NoSuchTool as exc:
        raise unknown_tool(exc, target) from None
    finally:
        progress.close()
    show_tool_result(result, console, tool, as_json=as_json, save_dir=opts.save_dir_of(save_dir))


def _tool_help(target: Target, console: Console, tool: str, timeout: float) -> None:
    from mcpctl.client.toolcall import NoSuchTool
    from mcpctl.client.toolhelp import tool_help

    tools = opts.run_client(target, _tools(target, console, timeout))
    names = target.names([t["name"] for t in tools if isinstance(t.get("name"), str)])
    wire = names.get(tool) or (tool if tool in names.values() else None)
    entry = next((t for t in tools if t.get("name") == wire), None)
    if entry is None:
        from mcpctl.client.arguments import suggest

        error = NoSuchTool(tool, target.endpoint.label, suggest(tool, list(names)), target.command("tools"))
        raise unknown_tool(error, target)
    options = f"Options (target, output, timeouts): see `{target.command('call', '--help')}`."
    width = console.out.width if console.interactive else 80
    console.data(tool_help(tool, entry, options, width=min(width, 100)).rstrip("\n"))


async def _tools(target: Target, console: Console, seconds: float) -> list[dict[str, Any]]:
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.elicit import RefusingElicitor
    from mcpctl.client.session import ClientSession

    refuse = RefusingElicitor("this command only lists")
    answerer = CliAnswerer(target.endpoint.label, roots=[], elicitor=refuse, warn=console.warn)
    async with ClientSession(target.endpoint, answerer, startup_timeout=seconds) as session:
        return await session.list("tools")


def unknown_tool(exc: NoSuchTool, target: Target) -> McpctlError:
    """Why a tool is missing: its server is down (exit 3), or the key in use may not see it."""
    from mcpctl.client.credentials import ApiKeyCredentials
    from mcpctl.client.diagnose import down_on
    from mcpctl.errors import UnavailableError

    for down in down_on(target):
        if target.scoped or down.owns(exc.tool):
            return UnavailableError(down.describe(), hint=down.fix())
    credentials = target.endpoint.credentials
    if isinstance(credentials, ApiKeyCredentials) and credentials.sent and credentials.choice.restricted:
        choice = credentials.choice
        globs = ", ".join(choice.restricted)
        exc.hint = (
            f"{exc.hint}; the API key {choice.name!r} may use only {globs}: choose another with --key NAME"
        )
    return exc


async def _call(
    target: Target, answerer: CliAnswerer, console: Console, progress: ProgressDisplay, request: CallRequest
) -> dict[str, Any]:
    import asyncio

    from mcpctl.client.session import ClientSession
    from mcpctl.client.toolcall import call_params

    label = target.endpoint.label
    log = opts.log_printer(console, label)
    try:
        async with ClientSession(
            target.endpoint, answerer, on_log=log, startup_timeout=request.deadline
        ) as session:
            tools = await session.list("tools")
            params = call_params(
                request,
                tools,
                target.names([t["name"] for t in tools if isinstance(t.get("name"), str)]),
                where=label,
                listing=target.command("tools"),
                help_command=target.command("call", request.tool, "--help"),
            )
            return await session.request(
                "tools/call", params, within=request.deadline, on_progress=progress.update
            )
    except asyncio.CancelledError:
        progress.close()
        console.info("interrupted: the request was cancelled")
        raise
