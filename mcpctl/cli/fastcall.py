"""`mcpctl call` through the running host, fast: stdlib HTTP, without typer, rich, httpx or pydantic."""

# It does what the full command does, with the same pieces (argument checks, rendering, answers to
# the server, error mapping), for the common case: the host as target and only --json, --timeout,
# --no-validate. Whatever it cannot do exactly as the full command would -- another target or
# option, a host that wants credentials, an unknown tool (the full command says which server is
# down), anything unexpected before the tool is called -- it leaves to the full command (`run`
# returns None), which is safe because nothing was called yet.

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpctl import envvars

if TYPE_CHECKING:
    from mcpctl.cli.console import Console

COMPLETE_VAR = "_MCPCTL_COMPLETE"  # shell completion runs the full command


@dataclass(frozen=True)
class FastArgs:
    tool: str
    pairs: list[str]
    as_json: bool
    timeout: float
    check: bool


def parse(argv: list[str]) -> FastArgs | None:
    """`TOOL [key=value ...] [--json] [--timeout S] [--no-validate]`, else None (the full command)."""
    from mcpctl.cli.answering import DEFAULT_TIMEOUT

    positional: list[str] = []
    as_json, check, timeout = False, True, DEFAULT_TIMEOUT
    rest = iter(argv)
    for word in rest:
        if word == "--json":
            as_json = True
        elif word in ("--validate", "--no-validate"):
            check = word == "--validate"
        elif word == "--timeout" or word.startswith("--timeout="):
            value = word.partition("=")[2] if "=" in word else next(rest, "")
            try:
                timeout = float(value)
            except ValueError:
                return None
        elif word.startswith("-"):
            return None  # another option, --help, or `-- COMMAND`
        else:
            positional.append(word)
    if not positional:
        return None
    return FastArgs(positional[0], positional[1:], as_json, timeout, check)


def run(argv: list[str]) -> int | None:
    """Call the tool through the running host: the exit code, or None to let the full command run."""
    args = parse(argv)
    if args is None or os.environ.get(envvars.URL) or os.environ.get(COMPLETE_VAR):
        return None
    from mcpctl.hoststate import read_host_state
    from mcpctl.paths import Paths

    paths = Paths.from_env()
    host = read_host_state(paths.host_state_file)
    if host is None or _signed_in(paths, host.url):
        return None  # no host (the full command says so), or an OAuth login to use for it
    from mcpctl.cli.console import Console
    from mcpctl.cli.hostcall import Fallback, HostCall
    from mcpctl.errors import McpctlError

    console = Console()
    call = HostCall(host.url, console, args)
    try:
        result = call.run()
    except Fallback:
        return None
    except KeyboardInterrupt:
        call.cancel("cancelled by the user")
        call.progress.close()
        console.info("interrupted: the request was cancelled")
        call.close()
        return 130
    except McpctlError as exc:
        call.close()
        console.error(str(exc))
        return int(exc.exit_code)
    call.close()
    return _show(console, args, result)


def _show(console: Console, args: FastArgs, result: dict[str, Any]) -> int:
    from mcpctl.cli.answering import save_dir_of
    from mcpctl.client.render import show_tool_result
    from mcpctl.errors import McpctlError

    try:
        show_tool_result(result, console, args.tool, as_json=args.as_json, save_dir=save_dir_of(None))
    except McpctlError as exc:
        console.error(str(exc))
        return int(exc.exit_code)
    return 0


def _signed_in(paths: Any, url: str) -> bool:
    from mcpctl.oauth.index import find_entry, index_path

    return find_entry(index_path(paths), url) is not None
