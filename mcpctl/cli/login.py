"""`mcpctl login URL`, `mcpctl logout URL`, `mcpctl auth status`: OAuth sign-in to MCP servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.oauth.records import Login
    from mcpctl.oauth.vault import Vault
    from mcpctl.paths import Paths

LOGIN_HELP = (
    "Sign in to an OAuth-protected MCP server: your browser opens, you sign in, done.\n\n"
    "mcpctl finds the server's authorization server (RFC 9728, RFC 8414 / OpenID discovery), "
    "registers itself there if needed, and runs the authorization code flow with PKCE on a "
    "127.0.0.1 redirect. The tokens go to the OS keyring and are refreshed when due; "
    '`mcpctl call --url URL` and servers with auth = "oauth" in `mcpctl serve` use them.\n\n'
    "Over SSH: --no-browser prints the address to open; forward the printed port, or paste the "
    "address the browser ends up at.\n\n"
    "Exit codes: 0 signed in, 2 usage, 3 server or keyring unreachable, 4 sign-in failed or "
    "cancelled, 130 interrupted."
)

STDIN = "-"  # --client-secret -: read it from stdin, out of the process list
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON (never tokens).")]
auth_app = new_app(
    help="OAuth logins: `auth login URL`, `auth logout URL`, `auth status` (as `mcpctl login` and co.).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command("login", help=LOGIN_HELP, no_args_is_help=True)(login)
    app.command("logout", no_args_is_help=True)(logout)
    # gh's grouping as well: `mcpctl auth login URL` is `mcpctl login URL`
    auth_app.command("login", help=LOGIN_HELP, no_args_is_help=True)(login)
    auth_app.command("logout", no_args_is_help=True)(logout)
    auth_app.command("status")(status)
    app.add_typer(auth_app, name="auth")


def _server_url(url: str) -> str:
    """The URL as given, once it is an http(s) URL with a host (else exit 2 before anything else)."""
    from urllib.parse import urlsplit

    from mcpctl.errors import UsageError

    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{url!r} is not an http:// or https:// URL",
            hint="give the server's full URL, with http:// or https:// (e.g. https://mcp.example.com/mcp)",
        )
    return text


def login(
    url: Annotated[str, typer.Argument(metavar="URL", help="The MCP server's URL.")],
    *,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser: print the address to open.")
    ] = False,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id", metavar="ID", help="A client you registered at the authorization server."
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            "--client-secret",
            metavar="-",
            help="Its secret: `-` asks for it (hidden) or reads stdin; a value given here shows in `ps`.",
        ),
    ] = None,
    client_metadata_url: Annotated[
        str | None,
        typer.Option(
            "--client-metadata-url",
            metavar="URL",
            help="Your Client ID Metadata Document (https), used where the server accepts them.",
        ),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="Scopes to ask for (repeatable; default: what the server asks for).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="S", help="How long to wait for the browser.")
    ] = 300.0,
    port: Annotated[
        int,
        typer.Option("--port", metavar="PORT", help="Loopback port for the redirect (default: a free one)."),
    ] = 0,
    as_json: AsJson = False,
) -> None:
    import asyncio
    import sys

    from mcpctl.cli.console import Console
    from mcpctl.errors import UsageError
    from mcpctl.oauth.flow import LoginRequest, SignIn
    from mcpctl.oauth.scopes import split_scopes
    from mcpctl.oauth.wiring import locks_dir
    from mcpctl.paths import Paths

    url = _server_url(url)
    console = Console()
    if client_secret is not None and not client_id:
        raise UsageError("--client-secret needs --client-id")
    if client_secret == STDIN and sys.stdin.isatty():
        import getpass

        client_secret = getpass.getpass("client secret (input hidden): ")
    elif client_secret == STDIN:
        client_secret = sys.stdin.readline().rstrip("\r\n")
        if not client_secret:
            raise UsageError("--client-secret -: nothing on stdin")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port")
    if timeout <= 0:
        raise UsageError("--timeout must be positive")
    paths = Paths.from_env()
    vault = _vault(paths, console)
    interactive = sys.stdin.isatty()
    sign_in = SignIn(
        vault, locks_dir(paths), console.info, read_line=sys.stdin.readline if interactive else None
    )
    request = LoginRequest(
        url=url.strip(),
        scopes=split_scopes(scope),
        client_id=client_id,
        client_secret=client_secret,
        client_metadata_url=client_metadata_url,
        open_browser=not no_browser,
        accept_paste=interactive,
        port=port,
        timeout=timeout,
    )
    done = asyncio.run(sign_in.login(request))
    if as_json:
        console.json(_public(done.summary()))
        return
    console.success(_describe(done, vault.description))


def logout(
    url: Annotated[str, typer.Argument(metavar="URL", help="The MCP server's URL.")],
    as_json: AsJson = False,
) -> None:
    """Forget the login for URL (and revoke its refresh token where the server offers revocation)."""
    import asyncio

    from mcpctl.cli.console import Console
    from mcpctl.errors import UsageError
    from mcpctl.paths import Paths

    url = _server_url(url)
    console = Console()
    vault = _vault(Paths.from_env(), console)
    removed, revoked = asyncio.run(_logout(vault, url))
    if removed is None:
        raise UsageError(f"no login for {url}", hint="see `mcpctl auth status`")
    if as_json:
        console.json({**_public(removed.summary()), "revoked": revoked})
        return
    note = " (refresh token revoked at the authorization server)" if revoked else ""
    console.success(f"logged out of {removed.url}{note}")


def status(as_json: AsJson = False) -> None:
    """The stored logins: server, authorization server, scopes and expiry (never tokens).

    Exits 1 when there is none (as `gh auth status` does), so scripts can test for a login; with
    --json the list is the answer (`[]` included) and the exit code 0, as for every listing.
    """
    import time

    from mcpctl.cli.console import Console
    from mcpctl.errors import ExitCode
    from mcpctl.oauth.index import index_path, read_index
    from mcpctl.paths import Paths

    console = Console()
    entries = [entry for _, entry in sorted(read_index(index_path(Paths.from_env())).items())]
    if as_json:
        console.json([_public(entry) for entry in entries])
        return
    if not entries:
        console.info("no logins (sign in with `mcpctl login URL`)")
        raise typer.Exit(int(ExitCode.FAILURE))
    now = time.time()
    for entry in entries:
        expires = entry.get("expiresAt")
        when = _relative(expires, now) if isinstance(expires, int | float) else "without an expiry"
        refresh = ", refreshable" if entry.get("refreshable") else ""
        scopes = " ".join(entry.get("scopes") or []) or "-"
        console.data(f"{entry['url']}\tissuer {entry['issuer']}\tscopes {scopes}\ttoken {when}{refresh}")


async def _logout(vault: Vault, url: str) -> tuple[Login | None, bool]:
    import httpx

    from mcpctl.oauth.endpoint import revoke

    removed = await vault.forget(url)
    if removed is None:
        return None, False
    async with httpx.AsyncClient(timeout=10.0) as http:
        revoked = await revoke(http, removed)
    return removed, revoked


def _vault(paths: Paths, console: Console) -> Vault:
    from mcpctl.auth.store import open_store
    from mcpctl.oauth.index import index_path
    from mcpctl.oauth.vault import Vault

    return Vault(lambda: open_store(paths, warn=console.warn), index_path(paths))


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary for people and scripts: ISO times added next to the epoch seconds."""
    import datetime

    out = dict(summary)
    for key in ("expiresAt", "obtainedAt"):
        value = out.get(key)
        if isinstance(value, int | float):
            out[key] = datetime.datetime.fromtimestamp(value, datetime.UTC).isoformat(timespec="seconds")
    return out


def _describe(login: Login, where: str) -> str:
    import time

    scopes = " ".join(login.tokens.scopes) or "the server's default scopes"
    expires = login.tokens.expires_at
    validity = f"; token {_relative(expires, time.time())}" if expires is not None else ""
    refresh = ", refreshed automatically" if login.tokens.refresh_token else ""
    return f"signed in to {login.url} via {login.issuer} ({scopes}{validity}{refresh}); stored in {where}"


def _relative(when: float, now: float) -> str:
    seconds = int(when - now)
    span = abs(seconds)
    text = f"{span}s" if span < 120 else f"{span // 60}m" if span < 7200 else f"{span // 3600}h"
    return f"valid for {text}" if seconds > 0 else f"expired {text} ago"
