"""`mcpctl config`: import a client's mcpServers JSON, check a file, show where files live."""

from __future__ import annotations

from pathlib import Path

import typer

from mcpctl.cli.usage import new_app

config_app = new_app(help="Configuration files: import, check, path.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("import")
def import_(
    source: Path = typer.Argument(
        ..., help="A JSON file with mcpServers (Claude Desktop, Cursor) or servers (VS Code)."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Where to write the TOML (default: the default config path).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Convert a client's JSON server list into mcpctl.toml."""
    from mcpctl.cli.console import Console
    from mcpctl.config.importer import to_toml
    from mcpctl.config.loader import load_client_json
    from mcpctl.errors import UsageError
    from mcpctl.fsutil import write_atomically
    from mcpctl.paths import Paths

    console = Console()
    data, config = load_client_json(source)
    target = output or Paths.from_env().default_config
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists", hint="pass --force to overwrite it, or --output to write elsewhere"
        )
    write_atomically(target, to_toml(data))
    console.success(f"wrote {target} ({len(config.servers)} server(s): {', '.join(config.servers)})")
    console.data(str(target))


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
            hint="pass --config FILE or create the default (mcpctl config path)",
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
