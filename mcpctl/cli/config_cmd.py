"""`mcpctl config`: import clients' server lists, point clients at the host, check a file, show paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.config.clients import ClientFile

config_app = new_app(help="Configuration files: import, connect, check, path.", no_args_is_help=True)
CLIENT_NAMES = "claude, cursor, vscode or windsurf"


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("import")
def import_(
    source: Path | None = typer.Argument(
        None,
        metavar="[FILE]",
        help="A JSON file with mcpServers (Claude Desktop, Cursor, Windsurf) or servers (VS Code). "
        "Default: every such file found on this machine.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Where to write the TOML (default: the default config path).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    plaintext: bool = typer.Option(
        False, "--plaintext", help="Keep tokens, keys and passwords in the file instead of the keyring."
    ),
) -> None:
    """Convert clients' JSON server lists into mcpctl.toml (mode 0600).

    Secret-looking env and header values (names with token, key, secret, password, authorization)
    go to the OS keyring and the file refers to them as ${keyring:NAME}; VS Code's ${input:...}
    prompts are refused.
    """
    from mcpctl.cli.console import Console
    from mcpctl.config.importer import to_toml
    from mcpctl.errors import UsageError
    from mcpctl.fsutil import write_atomically
    from mcpctl.paths import Paths

    console = Console()
    paths = Paths.from_env()
    target = output or paths.default_config
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists",
            hint="pass --force to overwrite it, or --output FILE to write elsewhere",
        )
    data, names = _read_sources(console, source)
    stored: list[str] = []
    if plaintext:
        console.warn("--plaintext: secrets stay in the file as you had them (it is written mode 0600)")
    else:
        data, stored = _move_secrets(console, data, paths)
    write_atomically(target, to_toml(data), mode=0o600)
    console.success(f"wrote {target} ({len(names)} server(s): {', '.join(names)})")
    if stored:
        console.info(f"  moved {len(stored)} secret(s) into the keyring: {', '.join(stored)}")
    console.data(str(target))


def _read_sources(console: Console, source: Path | None) -> tuple[dict[str, Any], list[str]]:
    """The servers of `source`, or of every client file found (the first of a name wins)."""
    from mcpctl.config.clients import candidates, discover
    from mcpctl.config.loader import load_client_json
    from mcpctl.errors import UsageError

    if source is not None:
        data, config = load_client_json(source)
        return data, list(config.servers)
    found: list[ClientFile] = discover()
    if not found:
        places = "; ".join(str(c.path) for c in candidates())
        raise UsageError(
            "found no Claude Desktop, Cursor, VS Code or Windsurf configuration",
            hint=f"give the file's path as the argument (looked in: {places})",
        )
    servers: dict[str, Any] = {}
    for item in found:
        data, config = load_client_json(item.path)
        console.info(f"found {item.client.label} ({item.scope}): {item.path}")
        for name, entry in data["servers"].items():
            if name in servers:
                console.warn(f"skipped {name!r} from {item.path}: a server of that name was imported already")
            else:
                servers[name] = entry
    return {"servers": servers}, list(servers)


def _move_secrets(console: Console, data: dict[str, Any], paths: Any) -> tuple[dict[str, Any], list[str]]:
    """Secrets to the keyring (before the file is written: nothing is lost if the keyring fails)."""
    from mcpctl.auth.secretbook import SecretBook, index_path
    from mcpctl.auth.store import open_store, secret_user
    from mcpctl.config.importer import extract_secrets

    book = SecretBook(open_store(paths, warn=console.warn), index_path(paths))
    existing = book.names()

    def fits(name: str, value: str) -> bool:
        return name not in existing or book.store.get(secret_user(name)) == value

    moved, secrets = extract_secrets(data, fits)
    for name, value in secrets.items():
        book.set(name, value)
    return moved, sorted(secrets)


@config_app.command("connect")
def connect(
    client: str = typer.Argument(..., metavar="CLIENT", help=f"The client: {CLIENT_NAMES}."),
    write: bool = typer.Option(
        False, "--write", help="Add it to the client's own file (a backup of that file is kept)."
    ),
    url: str | None = typer.Option(
        None, "--url", metavar="URL", help="The host's URL (default: the running one)."
    ),
) -> None:
    """Point a client at the host: print the entry to add to its file, or add it with --write."""
    import json

    from mcpctl.cli.console import Console
    from mcpctl.config.clients import CLIENTS, snippet
    from mcpctl.errors import UsageError

    console = Console()
    chosen = CLIENTS.get(client.lower())
    if chosen is None:
        raise UsageError(f"unknown client {client!r}", hint=f"use one of: {CLIENT_NAMES}")
    address = url or _host_url(console)
    if not write:
        console.data(json.dumps(snippet(chosen, address), indent=2))
        return
    _write_entry(console, chosen, address)


def _host_url(console: Console) -> str:
    from mcpctl.cli.common import config_path, load
    from mcpctl.client.hostapi import find_host
    from mcpctl.paths import Paths

    paths = Paths.from_env()
    host = find_host(paths)
    if host is not None:
        return host.url
    path = config_path(None, paths)
    gateway = load(path).gateway if path is not None else None
    address = f"http://{gateway.host}:{gateway.port}/mcp" if gateway else "http://127.0.0.1:8765/mcp"
    console.info(f"no host is running: using {address} (start it with `mcpctl serve`)")
    return address


def _write_entry(console: Console, client: Any, address: str) -> None:
    import json
    import shutil
    import time

    from mcpctl.config.clients import ENTRY, host_entry, user_file
    from mcpctl.errors import UsageError
    from mcpctl.fsutil import write_atomically

    path = user_file(client)
    data: dict[str, Any] = {}
    backup = None
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError as exc:
            raise UsageError(
                f"{path} is not plain JSON ({exc}); mcpctl will not rewrite it",
                hint=f"add the entry by hand: `mcpctl config connect {client.name}` prints it",
            ) from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{path} does not hold a JSON object", hint="fix the file, then try again")
        data = loaded
        backup = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(path, backup)
    servers = data.setdefault(client.key, {})
    if not isinstance(servers, dict):
        raise UsageError(f"{path}: `{client.key}` is not an object", hint="fix the file, then try again")
    servers[ENTRY] = host_entry(client, address)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    write_atomically(path, json.dumps(data, indent=2) + "\n", mode=mode)
    kept = f" (the previous file is kept as {backup})" if backup else ""
    console.success(f"added {ENTRY!r} ({address}) to {client.label}'s {path}{kept}; restart {client.label}")


@config_app.command("check")
def check(
    config: Path | None = typer.Option(
        None, "--config", "-c", metavar="FILE", help="The file to check (default: the one serve would use)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the validated configuration as JSON."),
) -> None:
    """Validate a configuration file; exit 2 with the file, field and fix when it is wrong."""
    from mcpctl.cli.common import config_path, load
    from mcpctl.cli.console import Console
    from mcpctl.errors import UsageError
    from mcpctl.paths import Paths

    console = Console()
    path = config_path(config, Paths.from_env())
    if path is None:
        raise UsageError(
            "no configuration file found",
            hint="pass --config FILE, or create the default file (`mcpctl config path` shows where)",
        )
    cfg = load(path)
    if as_json:
        console.json(cfg.model_dump(mode="json"))
    else:
        console.success(f"{path}: ok, {len(cfg.servers)} server(s)")


@config_app.command("path")
def path(as_json: bool = typer.Option(False, "--json", help="Print all locations as JSON.")) -> None:
    """Print where mcpctl keeps its files (honours MCPCTL_HOME)."""
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

    paths = Paths.from_env()
    console = Console()
    if as_json:
        console.json(
            {
                "config": str(paths.default_config),
                "state": str(paths.state_dir),
                "logs": str(paths.log_dir),
                "runtime": str(paths.runtime_dir),
                "data": str(paths.data_dir),
            }
        )
    else:
        console.data(str(paths.default_config))
