"""`mcpctl keys`: create, list, rotate and revoke the gateway's API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl import envvars
from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.auth.apikeys import KeyRecord
    from mcpctl.auth.store import SecretStore
    from mcpctl.cli.console import Console

keys_app = new_app(
    help="API keys for the gateway (`serve --auth api-key`): create, list, rotate, revoke.",
    no_args_is_help=True,
)

INSECURE_HELP = (
    "Keep the key's plaintext in an UNENCRYPTED 0600 file instead of the OS keyring "
    f"(also {envvars.TOKEN_STORE}=file)."
)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    name: str = typer.Argument(..., help="A name for the key (who or what uses it)."),
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            "-t",
            metavar="GLOB",
            help="A glob of tool names this key may call (repeat it); default: all the policy allows.",
        ),
    ] = None,
    expires: str = typer.Option(
        "never", "--expires", metavar="DURATION", help="Lifetime, e.g. 90d, 12h; or never."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the new key and its record as JSON."),
    insecure_file_store: bool = typer.Option(False, "--insecure-file-store", help=INSECURE_HELP),
) -> None:
    """Create a key and print it, once: the gateway keeps its hash, the keyring keeps it for local use."""
    import time

    from mcpctl.auth.store import apikey_user

    console, store, keys = _setup(insecure_file_store)
    lifetime = _duration(expires, "--expires")
    store.check()  # no usable keyring: fail now, before a key exists that nobody can read again
    with keys.editing():  # a failure inside writes nothing: no record whose key nobody has
        key, record = keys.create(name, tuple(tools or ()), time.time(), lifetime)
        store.set(apikey_user(name), key)
    if as_json:
        console.json({"key": key, **_row(record, None, time.time())})
    else:
        console.data(key)
    console.success(f"created API key {name!r} (id {record.id}); it is shown only this once")
    console.info(
        f"  saved in {store.description} for local mcpctl commands; give it to clients as "
        "`Authorization: Bearer <key>` or `X-API-Key: <key>`"
    )


@keys_app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print the keys as JSON."),
    show_all: bool = typer.Option(False, "--all", help="Include revoked, expired and retired keys."),
) -> None:
    """Names, tools, created, last used, expiry and status; never a key or its hash."""
    import time

    from mcpctl.auth.apikeys import KeyFile, read_usage
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

    console = Console()
    keys = KeyFile.at(Paths.from_env()).load()
    usage = read_usage(keys.usage_path)
    now = time.time()
    records = sorted(keys.records.values(), key=lambda r: (r.name, r.created))
    rows = [_row(r, usage.get(r.id), now) for r in records if show_all or r.usable(now)]
    if as_json:
        console.json(rows)
        return
    if not rows:
        console.info("no API keys (create one with `mcpctl keys create NAME`)")
        return
    header = ("NAME", "ID", "TOOLS", "CREATED", "LAST USED", "EXPIRES", "STATUS")
    table = [
        (
            r["name"],
            r["id"],
            ",".join(r["tools"]) or "*",
            _when(r["created"]),
            _when(r["lastUsed"], "never"),
            _when(r["ends"], "never"),
            r["status"],
        )
        for r in rows
    ]
    console.table([[str(cell) for cell in row] for row in table], header)


@keys_app.command("rotate")
def rotate(
    name: str = typer.Argument(..., help="The key to replace."),
    overlap: str = typer.Option(
        "24h", "--overlap", metavar="DURATION", help="How long the old key keeps working, e.g. 24h, 30m, 0."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the new key and its record as JSON."),
    insecure_file_store: bool = typer.Option(False, "--insecure-file-store", help=INSECURE_HELP),
) -> None:
    """Make a new key with the same tools and lifetime; the old one works until the overlap ends."""
    import time

    from mcpctl.auth.store import apikey_user

    console, store, keys = _setup(insecure_file_store)
    window = _duration(overlap, "--overlap") or 0.0
    store.check()
    with keys.editing():
        key, new, old = keys.rotate(name, time.time(), window)
        store.set(apikey_user(name), key)
    if as_json:
        console.json({"key": key, **_row(new, None, time.time())})
    else:
        console.data(key)
    console.success(f"rotated API key {name!r}: new id {new.id}; it is shown only this once")
    console.info(f"  the old key ({old.id}) works until {_when(old.retires)}")


@keys_app.command("revoke")
def revoke(
    name: str = typer.Argument(
        ..., help="The key to revoke (and any older one still in its rotation overlap)."
    ),
    insecure_file_store: bool = typer.Option(False, "--insecure-file-store", help=INSECURE_HELP),
) -> None:
    """Revoke a key: a running gateway refuses it from its next request on, without a restart."""
    import time

    from mcpctl.auth.store import KeyringUnavailable, apikey_user

    console, store, keys = _setup(insecure_file_store)
    with keys.editing():
        revoked = keys.revoke(name, time.time())
    console.success(f"revoked API key {name!r} ({', '.join(r.id for r in revoked)})")
    try:
        store.delete(apikey_user(name))
    except KeyringUnavailable as exc:  # the revocation stands; only the local copy is left behind
        console.warn(f"could not remove the key's local copy: {exc.message}")


def _setup(insecure_file_store: bool) -> tuple[Console, SecretStore, Any]:
    from mcpctl.auth.apikeys import KeyFile
    from mcpctl.auth.store import open_store
    from mcpctl.cli.console import Console
    from mcpctl.paths import Paths

    console = Console()
    paths = Paths.from_env()
    store = open_store(paths, insecure_file=insecure_file_store, warn=console.warn)
    return console, store, KeyFile.at(paths)


def _duration(text: str, option: str) -> float | None:
    from mcpctl.config.fields import parse_duration
    from mcpctl.errors import UsageError

    if text.strip().lower() in ("never", "none", ""):
        return None
    try:
        seconds = float(parse_duration(text))
    except ValueError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None
    return seconds or None


def _row(record: KeyRecord, last_used: float | None, now: float) -> dict[str, Any]:
    return {
        "name": record.name,
        "id": record.id,
        "tools": list(record.tools),
        "created": record.created,
        "lastUsed": last_used,
        "expires": record.expires,
        "ends": record.end(),
        "status": record.status(now),
        "rotatedFrom": record.rotated_from,
    }


def _when(timestamp: float | None, missing: str = "-") -> str:
    import datetime

    if timestamp is None:
        return missing
    return datetime.datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")
