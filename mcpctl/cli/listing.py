"""`mcpctl tools`, `prompts`, `prompt`, `resources`, `read`: what a server offers, and using it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli import clientopts as opts

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.targets import Target

_HELP = {
    "tools": "List the tools you can call, with short descriptions.",
    "prompts": "List prompts.",
    "prompt": "Get a prompt (arguments as key=value) and print its messages.",
    "resources": "List resources and resource templates.",
    "read": "Read a resource by URI and print it (binary contents are saved to files).",
}


def register(app: typer.Typer) -> None:
    commands: dict[str, Callable[..., None]] = {
        "tools": tools,
        "prompts": prompts,
        "prompt": prompt,
        "resources": resources,
        "read": read,
    }
    for name, function in commands.items():
        app.command(
            name,
            help=_HELP[name] + opts.TARGET_HELP,
            cls=opts.DashDashCommand,
            no_args_is_help=name in ("prompt", "read"),
        )(function)


def tools(
    ctx: typer.Context,
    *,
    url: opts.Url = None,
    server: opts.Server = None,
    config: opts.ConfigFile = None,
    headers: opts.Headers = None,
    key: opts.Key = None,
    schema: Annotated[bool, typer.Option("--schema", help="Show each tool's input schema.")] = False,
    as_json: opts.AsJson = False,
    timeout: opts.Timeout = opts.DEFAULT_TIMEOUT,
) -> None:
    from mcpctl.cli.console import Console

    console = Console()
    target = opts.target_of(ctx, url, server, config, headers, key)
    entries = opts.run_client(target, _list(target, console, "tools", timeout))
    _warn_down(console, target)
    shown = _callable(console, _scoped(target, entries))
    if as_json:
        console.json([entry for _, entry in shown])
        return
    if not shown:
        console.info(f"{target.endpoint.label} offers no tools")
        return
    if schema:
        for name, entry in shown:
            console.data(f"{name}: {_first_line(entry.get('description'))}".rstrip(": "))
            console.json(entry.get("inputSchema", {}))
        return
    _table(console, [(name, _first_line(entry.get("description"))) for name, entry in shown])


def prompts(
    ctx: typer.Context,
    *,
    url: opts.Url = None,
    server: opts.Server = None,
    config: opts.ConfigFile = None,
    headers: opts.Headers = None,
    key: opts.Key = None,
    as_json: opts.AsJson = False,
    timeout: opts.Timeout = opts.DEFAULT_TIMEOUT,
) -> None:
    from mcpctl.cli.console import Console

    console = Console()
    target = opts.target_of(ctx, url, server, config, headers, key)
    shown = _scoped(target, opts.run_client(target, _list(target, console, "prompts", timeout)))
    _warn_down(console, target)
    if as_json:
        console.json([entry for _, entry in shown])
        return
    if not shown:
        console.info(f"{target.endpoint.label} offers no prompts")
        return
    _table(
        console,
        [
            (f"{name} {_argument_names(entry)}".strip(), _first_line(entry.get("description")))
            for name, entry in shown
        ],
    )


def prompt(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The prompt's name.")],
    pairs: Annotated[
        list[str] | None, typer.Argument(metavar="[key=value]...", help="Prompt arguments.")
    ] = None,
    *,
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
    from mcpctl.cli.console import Console
    from mcpctl.client.render import Renderer

    console = Console()
    target = opts.target_of(ctx, url, server, config, headers, key)
    answerer = opts.answerer_of(
        target, console, None, roots=roots, no_input=no_input, yes=yes, sampling_command=sampling_command
    )
    arguments = _string_pairs(list(pairs or []))
    result = opts.run_client(
        target, _get_prompt(target, answerer, console, name, arguments=arguments, seconds=timeout)
    )
    if as_json:
        console.json(result)
        return
    Renderer(console, opts.save_dir_of(save_dir), name).prompt_result(result)


def resources(
    ctx: typer.Context,
    *,
    url: opts.Url = None,
    server: opts.Server = None,
    config: opts.ConfigFile = None,
    headers: opts.Headers = None,
    key: opts.Key = None,
    as_json: opts.AsJson = False,
    timeout: opts.Timeout = opts.DEFAULT_TIMEOUT,
) -> None:
    from mcpctl.cli.console import Console

    console = Console()
    target = opts.target_of(ctx, url, server, config, headers, key)
    listed, templates = opts.run_client(target, _resources(target, console, timeout))
    _warn_down(console, target)
    if as_json:
        console.json({"resources": listed, "resourceTemplates": templates})
        return
    if not listed and not templates:
        console.info(f"{target.endpoint.label} offers no resources")
        return
    rows = [(str(r.get("uri", "?")), _resource_note(r)) for r in listed]
    rows += [(str(t.get("uriTemplate", "?")), "(template) " + _resource_note(t)) for t in templates]
    _table(console, rows)


def read(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="The resource's URI.")],
    *,
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
    from mcpctl.cli.console import Console
    from mcpctl.client.render import Renderer

    console = Console()
    target = opts.target_of(ctx, url, server, config, headers, key)
    answerer = opts.answerer_of(
        target, console, None, roots=roots, no_input=no_input, yes=yes, sampling_command=sampling_command
    )
    result = opts.run_client(target, _read(target, answerer, console, uri, timeout))
    if as_json:
        console.json(result)
        return
    stem = uri.rstrip("/").rsplit("/", 1)[-1] or "resource"
    Renderer(console, opts.save_dir_of(save_dir), stem).read_result(result)


# -- the async parts -------------------------------------------------------------------------------
# `seconds` bounds each part: the session's handshake, and every request in it.


async def _list(target: Target, console: Console, kind: str, seconds: float) -> list[dict[str, Any]]:
    from mcpctl.client.session import ClientSession

    answerer = _listing_answerer(target, console)
    async with ClientSession(target.endpoint, answerer, startup_timeout=seconds) as session:
        return await session.list(kind)


async def _resources(
    target: Target, console: Console, seconds: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from mcpctl.client.session import ClientSession

    answerer = _listing_answerer(target, console)
    async with ClientSession(target.endpoint, answerer, startup_timeout=seconds) as session:
        return await session.list("resources"), await session.list("resourceTemplates")


async def _get_prompt(
    target: Target,
    answerer: CliAnswerer,
    console: Console,
    name: str,
    *,
    arguments: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    from mcpctl.client.arguments import suggest
    from mcpctl.client.session import ClientSession
    from mcpctl.errors import UsageError

    label = target.endpoint.label
    log = opts.log_printer(console, label)
    async with ClientSession(target.endpoint, answerer, on_log=log, startup_timeout=seconds) as session:
        listed = [p["name"] for p in await session.list("prompts") if isinstance(p.get("name"), str)]
        names = target.names(listed)
        wire = names.get(name) or (name if name in names.values() else None)
        if wire is None:
            close = suggest(name, list(names))
            hint = (f"did you mean {', '.join(close)}? " if close else "") + "(`mcpctl prompts` lists them)"
            raise UsageError(f"no prompt named {name!r} on {label}", hint=hint)
        return await session.request("prompts/get", {"name": wire, "arguments": arguments}, within=seconds)


async def _read(
    target: Target, answerer: CliAnswerer, console: Console, uri: str, seconds: float
) -> dict[str, Any]:
    from mcpctl.client.session import ClientSession

    log = opts.log_printer(console, target.endpoint.label)
    async with ClientSession(target.endpoint, answerer, on_log=log, startup_timeout=seconds) as session:
        return await session.request("resources/read", {"uri": uri}, within=seconds)


# -- helpers -------------------------------------------------------------------------------------


def _listing_answerer(target: Target, console: Console) -> CliAnswerer:
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.elicit import RefusingElicitor

    refuse = RefusingElicitor("this command only lists")
    return CliAnswerer(target.endpoint.label, roots=[Path.cwd()], elicitor=refuse, warn=console.warn)


def _warn_down(console: Console, target: Target) -> None:
    """Through the host: which servers are down and why (their tools are missing from the list)."""
    from mcpctl.client.diagnose import down_on

    for down in down_on(target):
        console.warn(f"{down.describe()}\n  fix: {down.fix()}")


def _scoped(target: Target, entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(name a person types, entry) for the entries that belong to the target."""
    by_name = {e["name"]: e for e in entries if isinstance(e.get("name"), str)}
    return [(shown, by_name[wire]) for shown, wire in target.names(list(by_name)).items()]


def _callable(console: Console, shown: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Leave out tools a client must not call (malformed x-mcp-header annotations), saying why."""
    from mcpctl.client.toolcheck import header_problems

    kept = []
    for name, entry in shown:
        problems = header_problems(entry.get("inputSchema"))
        if problems:
            console.warn(f"left out {name}: {'; '.join(problems)}")
        else:
            kept.append((name, entry))
    return kept


def _string_pairs(pairs: list[str]) -> dict[str, str]:
    from mcpctl.errors import UsageError

    arguments: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"argument {pair!r} is not key=value", hint="prompt arguments are strings: name=value"
            )
        arguments[key] = value
    return arguments


def _argument_names(entry: dict[str, Any]) -> str:
    """A prompt's arguments as `name` (required) and `name?` (optional)."""
    arguments = entry.get("arguments")
    listed = [a for a in arguments if isinstance(a, dict)] if isinstance(arguments, list) else []
    return " ".join(f"{a.get('name')}{'' if a.get('required') else '?'}" for a in listed)


def _first_line(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        return ""
    return text.strip().splitlines()[0]


def _resource_note(entry: dict[str, Any]) -> str:
    parts = [str(entry[key]) for key in ("name", "mimeType") if isinstance(entry.get(key), str)]
    note = " · ".join(parts)
    description = _first_line(entry.get("description"))
    return f"{note} — {description}" if description and note else note or description


def _table(console: Console, rows: list[tuple[str, str]]) -> None:
    """Names in full, descriptions shortened to the terminal (tab-separated lines in a pipe)."""
    console.table(rows)
