"""`mcpctl request METHOD key=value ...`: any JSON-RPC request, e.g. ping or logging/setLevel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli import clientopts as opts

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.targets import Target

HELP = (
    "Send one JSON-RPC request and print its result as JSON: for what has no command of its own, "
    "such as ping, logging/setLevel, completion/complete or resources/subscribe (as the MCP "
    "Inspector's --method does).\n\n"
    "Params: key=value (a string), key:=JSON (any JSON value), key=@FILE and key:=@FILE.json, or "
    "--params JSON | @FILE | - for the whole object. A method under notifications/ is sent as a "
    "notification. --follow then keeps the session open and prints what the server sends "
    "(resources/updated, list changes, logs) as JSON lines until Ctrl-C.\n\n"
    "Names are the target's: through the host, tools and prompts carry their server's prefix."
    + opts.TARGET_HELP
)


def register(app: typer.Typer) -> None:
    app.command("request", cls=opts.DashDashCommand, help=HELP, no_args_is_help=True)(request)


def request(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(metavar="METHOD", help="The JSON-RPC method, e.g. ping.")],
    pairs: Annotated[
        list[str] | None, typer.Argument(metavar="[key=value | key:=json]...", help="Params.")
    ] = None,
    *,
    params: Annotated[
        str | None, typer.Option("--params", metavar="JSON|@FILE|-", help="All params as one JSON object.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Then print what the server sends, until Ctrl-C.")
    ] = False,
    url: opts.Url = None,
    server: opts.Server = None,
    config: opts.ConfigFile = None,
    headers: opts.Headers = None,
    key: opts.Key = None,
    timeout: opts.Timeout = opts.DEFAULT_TIMEOUT,
    roots: opts.Roots = None,
    no_input: opts.NoInput = False,
    yes: opts.Yes = False,
) -> None:
    import sys

    from mcpctl.cli.console import Console
    from mcpctl.client.arguments import base_arguments, parse_pairs
    from mcpctl.errors import UsageError

    if "/" not in method and method != "ping":
        raise UsageError(f"{method!r} is not an MCP method", hint="methods look like tools/list or ping")
    console = Console()
    body = {**base_arguments(params, sys.stdin.read), **parse_pairs(list(pairs or []), None)}
    target = opts.target_of(ctx, url, server, config, headers, key)
    answerer = opts.answerer_of(
        target, console, None, roots=roots, no_input=no_input, yes=yes, sampling_command=None
    )
    result = opts.run_client(target, _send(target, answerer, console, method, body, timeout, follow))
    if result is not None and not follow:
        console.json(result)


async def _send(
    target: Target,
    answerer: CliAnswerer,
    console: Console,
    method: str,
    params: dict[str, Any],
    seconds: float,
    follow: bool,
) -> dict[str, Any] | None:
    import asyncio

    from mcpctl.client.session import ClientSession

    class Listening(ClientSession):
        """A session that also prints every notification (with --follow)."""

        def message(self, connection: Any, msg: Any) -> None:
            if follow and "id" not in msg:
                console.data(_compact(msg))
            super().message(connection, msg)

    log = opts.log_printer(console, target.endpoint.label)
    async with Listening(target.endpoint, answerer, on_log=log, startup_timeout=seconds) as session:
        result = None
        if method.startswith("notifications/"):
            session.connection.notify(method, params or None)
        else:
            result = await session.request(method, params, within=seconds)
        if not follow:
            return result
        if result is not None:
            console.data(_compact(result))
        console.info("following: what the server sends is printed as it comes (Ctrl-C to stop)")
        await asyncio.Event().wait()  # until Ctrl-C
    return None


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
