"""`mcpctl secrets`: values for `${keyring:NAME}` in server env and headers, kept in the OS keyring."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mcpctl import envvars
from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.auth.secretbook import SecretBook
    from mcpctl.cli.console import Console

secrets_app = new_app(
    help="Secrets for server env and headers (${keyring:NAME}): set, list, delete.", no_args_is_help=True
)

INSECURE_HELP = f"Use an UNENCRYPTED 0600 file instead of the OS keyring (also {envvars.TOKEN_STORE}=file)."


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")


@secrets_app.command("set")
def set_(
    name: str = typer.Argument(..., help="The secret's name, as in ${keyring:NAME}."),
    insecure_file_store: bool = typer.Option(False, "--insecure-file-store", help=INSECURE_HELP),
) -> None:
    """Store a secret: typed at a hidden prompt on a terminal, else read from stdin."""
    import sys

    from mcpctl.auth.secretbook import check_secret_name
    from mcpctl.errors import UsageError

    console, book = _setup(insecure_file_store)
    check_secret_name(name)
    book.store.check()  # before asking: no point typing a secret nobody can keep
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"value for {name} (input hidden): ")
    else:
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise UsageError(
            f"no value given for {name!r}",
            hint=f"type it at the prompt, or pipe it: printf %s VALUE | mcpctl secrets set {name}",
        )
    book.set(name, value)
    console.success(f"stored secret {name!r} in {book.store.description}; refer to it as ${{keyring:{name}}}")


@secrets_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print the names as JSON.")) -> None:
    """The names of the secrets set with mcpctl (never their values)."""
    import datetime

    from mcpctl.auth.secretbook import SecretBook, index_path
    from mcpctl.auth.store import KeyringStore
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

    console = Console()
    # names come from the index alone: listing never touches the keyring
    names = SecretBook(KeyringStore(), index_path(Paths.from_env())).names()
    if as_json:
        console.json([{"name": n, "updated": t} for n, t in sorted(names.items())])
        return
    if not names:
        console.info("no secrets (set one with `mcpctl secrets set NAME`)")
        return
    for name, when in sorted(names.items()):
        stamp = datetime.datetime.fromtimestamp(when).astimezone().strftime("%Y-%m-%d %H:%M")
        console.data(f"{name}  (set {stamp})")


@secrets_app.command("delete")
def delete(
    name: str = typer.Argument(..., help="The secret to delete."),
    insecure_file_store: bool = typer.Option(False, "--insecure-file-store", help=INSECURE_HELP),
) -> None:
    """Delete a secret from the store and from the list of names."""
    from mcpctl.errors import UsageError

    console, book = _setup(insecure_file_store)
    if not book.delete(name):
        raise UsageError(f"no secret named {name!r}", hint="see `mcpctl secrets list`")
    console.success(f"deleted secret {name!r}")


def _setup(insecure_file_store: bool) -> tuple[Console, SecretBook]:
    from mcpctl.auth.secretbook import SecretBook, index_path
    from mcpctl.auth.store import open_store
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

    console = Console()
    paths = Paths.from_env()
    store = open_store(paths, insecure_file=insecure_file_store, warn=console.warn)
    return console, SecretBook(store, index_path(paths))
