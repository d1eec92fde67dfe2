"""`mcpctl logs`: list, follow, verify and summarise the audit trail (reads its files; no host needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcpctl.cli.usage import new_app

if TYPE_CHECKING:
    from mcpctl.audit.follow import Follower, Followers
    from mcpctl.audit.query import Filter
    from mcpctl.audit.verify import Report
    from mcpctl.cli.console import Console

logs_app = new_app(
    help="The audit trail of every call through the host: list, --follow, verify, stats.",
    invoke_without_command=True,
)

FOLLOW_BACKLOG = 10  # rows `--follow` shows from before it started, unless --limit says otherwise
POLL_SECONDS = 0.1

# Options shared by the listing and `stats`, as annotated types (typer reads the metadata).
Dir = Annotated[
    Path | None, typer.Option("--dir", metavar="DIR", help="Audit directory (default: the logs directory).")
]
Since = Annotated[
    str | None, typer.Option("--since", metavar="WHEN", help="From this long ago (30m, 1h, 7d) or this time.")
]
Until = Annotated[
    str | None, typer.Option("--until", metavar="WHEN", help="Up to this long ago or this time.")
]
Servers = Annotated[
    list[str] | None,
    typer.Option("--server", "-s", metavar="NAME", help="Only calls to this server (repeatable)."),
]
Tools = Annotated[
    list[str] | None,
    typer.Option("--tool", "-t", metavar="GLOB", help="Only these tools, prompts or URIs (globs)."),
]
Principals = Annotated[
    list[str] | None, typer.Option("--principal", "-p", metavar="GLOB", help="Only these principals (globs).")
]
Outcomes = Annotated[
    list[str] | None,
    typer.Option("--outcome", "-o", metavar="OUTCOME", help="Only these outcomes: ok, error, ..."),
]
Kinds = Annotated[
    list[str] | None,
    typer.Option("--kind", "-k", metavar="GLOB", help="Only these kinds: tools/call, 'auth.*', ..."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(logs_app, name="logs")


@logs_app.callback(invoke_without_command=True)
def logs(
    ctx: typer.Context,
    *,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep showing new records (Ctrl-C stops).")
    ] = False,
    since: Since = None,
    until: Until = None,
    server: Servers = None,
    tool: Tools = None,
    principal: Principals = None,
    outcome: Outcomes = None,
    kind: Kinds = None,
    errors: Annotated[
        bool, typer.Option("--errors", "-e", help="Only records whose outcome is not ok.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, metavar="N", help="Only the last N matching records."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print records unchanged, one JSON object a line.")
    ] = False,
    directory: Dir = None,
) -> None:
    """List audit records (oldest first), or follow them live with --follow."""
    if ctx.invoked_subcommand is not None:
        return
    from mcpctl.cli.console import Console

    console = Console()
    flt = _filter(
        since, until, server=server, tool=tool, principal=principal, outcome=outcome, kind=kind, errors=errors
    )
    audit_dir = _audit_dir(directory)
    try:
        if follow:
            _follow(console, audit_dir, flt, limit or FOLLOW_BACKLOG, as_json=as_json)
        else:
            _list(console, audit_dir, flt, limit, as_json=as_json)
    except BrokenPipeError:
        _quiet_stdout()  # `mcpctl logs | head`: the reader left, which is fine


@logs_app.command("verify")
def verify(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    directory: Dir = None,
) -> None:
    """Check the hash chain; exit 1 naming file and line of each edited, deleted, inserted or moved record."""
    from mcpctl.audit.files import trails
    from mcpctl.audit.verify import TrailBroken
    from mcpctl.cli.console import Console

    console = Console()
    audit_dir = _audit_dir(directory)
    several = trails(audit_dir)
    if len(several) > 1:  # a fleet's trails, side by side: each has a chain of its own
        broken = [trail.name for trail in several if not _verify_one(console, trail, as_json=as_json).ok]
        if broken:
            raise TrailBroken(
                f"{len(broken)} of {len(several)} audit trails fail verification: {', '.join(broken)}",
                hint="run `mcpctl logs verify --dir` on each for the records named",
            )
        return
    report = _verify_one(console, audit_dir, as_json=as_json)
    if not report.ok and report.files:
        raise TrailBroken(
            f"the audit trail fails verification: {len(report.problems)} problem(s); "
            f"first: {report.problems[0]}",
            hint="the records named were changed after they were written; compare with a backup of the trail",
        )


def _verify_one(console: Console, audit_dir: Path, *, as_json: bool) -> Report:
    """Check one trail and say what was found."""
    from mcpctl.audit.verify import verify as check

    report = check(audit_dir)
    if as_json:
        console.json({"trail": str(audit_dir), **report.as_json()})
    if not report.files:
        console.info(f"no audit trail in {audit_dir} yet")
        return report
    for note in report.notes:
        console.info(f"note: {note}")
    if report.dropped:
        console.warn(f"{report.dropped} call(s) could not be recorded (see the audit.dropped records)")
    if report.ok:
        console.success(
            f"audit trail intact: {report.records} record(s) in {len(report.files)} file(s), "
            f"seq {report.first_seq}..{report.last_seq}, head {(report.head or '')[:16]}"
            + (f" ({audit_dir.name})" if audit_dir.name != "audit" else "")
        )
        return report
    for problem in report.problems[1:]:
        console.info(f"  also: {problem}")
    console.warn(f"{audit_dir.name}: {len(report.problems)} problem(s); first: {report.problems[0]}")
    return report


@logs_app.command("stats")
def stats(
    *,
    since: Since = "24h",
    until: Until = None,
    server: Servers = None,
    tool: Tools = None,
    principal: Principals = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    directory: Dir = None,
) -> None:
    """Calls, error rate and p50/p95 duration, per tool and per principal."""
    from mcpctl.audit.query import matching
    from mcpctl.audit.query import stats as summarise
    from mcpctl.cli.console import Console

    console = Console()
    flt = _filter(since, until, server=server, tool=tool, principal=principal)
    records = (ln.record for ln in matching(_audit_dir(directory), flt) if ln.record is not None)
    figures = summarise(records, flt)
    if as_json:
        console.json(figures)
        return
    _print_stats(console, figures)


# -- listing and following ---------------------------------------------------------------------


def _list(console: Console, audit_dir: Path, flt: Filter, limit: int | None, *, as_json: bool) -> None:
    from mcpctl.audit.query import last, matching

    lines = last(audit_dir, flt, limit) if limit else matching(audit_dir, flt)
    show = _printer(console, as_json=as_json)
    shown = 0
    for line in lines:
        show(line.raw, line.record)
        shown += 1
    if not shown:
        if not audit_dir.is_dir():
            console.info(f"no audit trail in {audit_dir} yet: it starts with the first call through a host")
        else:
            console.info("no audit records match")


def _follow(console: Console, audit_dir: Path, flt: Filter, backlog: int, *, as_json: bool) -> None:
    import time

    from mcpctl.audit.follow import follower_for
    from mcpctl.audit.query import last
    from mcpctl.audit.schema import unseal

    follower = follower_for(audit_dir, from_start=True)

    def matches(raw: list[bytes]) -> list[tuple[bytes, dict[str, Any]]]:
        out = []
        for line in raw:
            record = unseal(line)[0]
            if record is not None and flt.match(record):
                out.append((line, record))
        return out

    # The backlog: the current file as the follower first reads it, topped up from rotated files.
    shown = matches(follower.poll())[-backlog:]
    if len(shown) < backlog:
        older = last(audit_dir, flt, backlog - len(shown), rotated_only=True)
        shown = [(ln.raw, ln.record) for ln in older if ln.record is not None] + shown
    live = not as_json and console.interactive and not console.out.no_color
    if live:
        _follow_live(console, follower, matches, shown, str(audit_dir))
        return
    show = _printer(console, as_json=as_json)
    for raw, record in shown:
        show(raw, record)
    if not as_json:
        console.info(f"following {audit_dir} (Ctrl-C to stop)")
    while True:
        new = matches(follower.poll())
        for raw, record in new:
            show(raw, record)
        if not new:
            time.sleep(POLL_SECONDS)


def _follow_live(
    console: Console,
    follower: Follower | Followers,
    matches: Any,
    backlog: list[tuple[bytes, dict[str, Any]]],
    source: str,
) -> None:
    import time

    from rich.live import Live

    from mcpctl.audit.view import LiveTable

    table = LiveTable(source, console.out.height - 4)
    for _, record in backlog:
        table.add(record, new=False)
    with Live(table.render(), console=console.out, auto_refresh=False, vertical_overflow="crop") as live:
        drawn = time.monotonic()
        while True:
            new = matches(follower.poll())
            for _, record in new:
                table.add(record)
            now = time.monotonic()
            if new or now - drawn >= 1.0:  # new rows at once; the footer's clock once a second
                table.resize(console.out.height - 4)
                live.update(table.render(), refresh=True)
                drawn = now
            if not new:
                time.sleep(POLL_SECONDS)


def _printer(console: Console, *, as_json: bool) -> Any:
    from mcpctl.audit.view import plain_line, styled_line

    if as_json:
        return lambda raw, record: console.data(raw.decode("utf-8", "replace"))
    if console.interactive and not console.out.no_color:
        return lambda raw, record: console.out.print(styled_line(record), soft_wrap=True)
    return lambda raw, record: console.data(plain_line(record))


# -- stats ---------------------------------------------------------------------------------------


def _print_stats(console: Console, figures: dict[str, Any]) -> None:
    """The summary line, then a table per tool and per principal: all of it data, on stdout."""
    since = figures["since"] or "the beginning"
    console.data(
        f"{figures['calls']} call(s) from {since} to {figures['until']}: {figures['errors']} not ok "
        f"({figures['error_rate']:.1%}), p50 {_ms(figures['p50_ms'])}, p95 {_ms(figures['p95_ms'])}"
    )
    if figures["dropped"]:
        console.warn(f"{figures['dropped']} call(s) could not be recorded in this period (audit.dropped)")
    for key, rows in (("tool", figures["by_tool"]), ("principal", figures["by_principal"])):
        if not rows:
            continue
        headers = [key.upper()] + (["SERVER"] if key == "tool" else [])
        headers += ["CALLS", "ERRORS", "ERROR RATE", "P50", "P95"]
        table = []
        for row in rows:
            cells = [str(row[key])] + ([str(row["server"] or "-")] if key == "tool" else [])
            cells += [str(row["calls"]), str(row["errors"]), f"{row['error_rate']:.1%}"]
            cells += [_ms(row["p50_ms"]), _ms(row["p95_ms"])]
            table.append(cells)
        console.data(f"\nby {key}")
        console.table(table, headers)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"


# -- options -------------------------------------------------------------------------------------


def _audit_dir(directory: Path | None) -> Path:
    from mcpctl.paths import Paths

    return directory if directory is not None else Paths.from_env().audit_dir


def _filter(
    since: str | None,
    until: str | None,
    *,
    server: list[str] | None = None,
    tool: list[str] | None = None,
    principal: list[str] | None = None,
    outcome: list[str] | None = None,
    kind: list[str] | None = None,
    errors: bool = False,
) -> Filter:
    import time

    from mcpctl.audit.query import Filter, parse_when
    from mcpctl.audit.view import STYLES
    from mcpctl.errors import UsageError

    now = time.time()
    try:
        start = parse_when(since, now) if since else None
        end = parse_when(until, now) if until else None
    except ValueError as exc:
        raise UsageError(str(exc), hint="use --since 1h, --since 2026-11-23T10:00:00Z or similar") from None
    outcomes = tuple(o.strip() for value in outcome or () for o in value.split(",") if o.strip())
    unknown = [o for o in outcomes if o not in STYLES]
    if unknown:
        raise UsageError(f"unknown outcome {unknown[0]!r}", hint=f"use one of: {', '.join(STYLES)}")
    return Filter(
        since=start,
        until=end,
        servers=tuple(server or ()),
        tools=tuple(tool or ()),
        principals=tuple(principal or ()),
        outcomes=outcomes,
        kinds=tuple(kind or ()),
        errors=errors,
    )


def _quiet_stdout() -> None:
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
