"""How records look to a person: one plain line each, or a coloured live table (rich renderables only)."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from mcpctl.audit.schema import DROPPED, OK, PRUNED, RECOVERED, dumps

if TYPE_CHECKING:
    from rich.console import RenderableType

STYLES: Final = {
    OK: "green",
    "tool_error": "yellow",
    "error": "red",
    "timeout": "red",
    "unavailable": "red",
    "cancelled": "red",
    "denied": "magenta",
    "rate_limited": "magenta",
    "breaker_open": "magenta",
    "not_found": "magenta",
    "unauthenticated": "magenta",
    "refused": "magenta",
}
DETAIL_CHARS: Final = 100


def outcome_of(record: dict[str, Any]) -> str:
    outcome = record.get("outcome")
    return str(outcome) if outcome is not None else "-"


def duration_of(record: dict[str, Any]) -> str:
    ms = record.get("duration_ms")
    if not isinstance(ms, int | float):
        return "-"
    return f"{ms:.1f}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def target_of(record: dict[str, Any]) -> str:
    kind = str(record.get("kind"))
    tool = record.get("tool")
    if not isinstance(tool, str):
        return kind
    if kind == "tools/call":
        server = record.get("server")
        # a bridged server's tools have no prefix: say which server they belong to
        return f"{server}:{tool}" if server and not tool.startswith(f"{server}__") else tool
    return f"{kind} {tool}"


def detail_of(record: dict[str, Any]) -> str:
    """What a person wants to see next: the error, else the arguments (both already redacted)."""
    kind = record.get("kind")
    if kind == DROPPED:
        span = f"{record.get('first')} .. {record.get('last')}"
        return f"{record.get('count')} record(s) dropped (queue full or disk refused) {span}"
    if kind == PRUNED:
        return f"retention removed {', '.join(map(str, record.get('files') or []))}"
    if kind == RECOVERED:
        return _recovered(record)
    for key in ("error", "reason"):
        text = record.get(key)
        if isinstance(text, str) and text:
            return _clip(text)
    args = record.get("arguments")
    if args:
        return _clip(dumps(args).decode())
    return ""


def _recovered(record: dict[str, Any]) -> str:
    """What the host found when it started again (README: Tamper evidence)."""
    found = []
    if record.get("discarded_bytes"):
        found.append(f"{record['discarded_bytes']} byte(s) of an incomplete write discarded")
    if record.get("missing_from") is not None:
        found.append(f"seq {record['missing_from']}-{record.get('missing_through')} missing from the end")
    if record.get("head_missing"):
        found.append("head.json was missing")
    return "; ".join(found)


def local_time(ts: Any) -> str:
    """HH:MM:SS.mmm in local time, for a live view (the plain listing keeps the full UTC stamp)."""
    if not isinstance(ts, str):
        return "?"
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return parsed.astimezone().strftime("%H:%M:%S.%f")[:-3]


def plain_line(record: dict[str, Any]) -> str:
    """One line per record, for pipes, NO_COLOR and `grep`."""
    return "  ".join(
        (
            str(record.get("ts")),
            f"{outcome_of(record):<12}",
            f"{duration_of(record):>9}",
            f"{record.get('principal') or '-':<12}",
            target_of(record),
            detail_of(record),
        )
    ).rstrip()


def styled_line(record: dict[str, Any]) -> RenderableType:
    from rich.text import Text

    outcome = outcome_of(record)
    text = Text()
    text.append(str(record.get("ts")), style="dim")
    text.append("  ")
    text.append(f"{outcome:<12}", style=STYLES.get(outcome, "cyan"))
    text.append(f"  {duration_of(record):>9}  ")
    text.append(f"{record.get('principal') or '-':<12}", style="blue")
    text.append("  ")
    text.append(target_of(record), style="bold")
    detail = detail_of(record)
    if detail:
        text.append("  " + detail, style="dim" if outcome == OK else STYLES.get(outcome, ""))
    return text


class LiveTable:
    """The rows a live view shows (the newest at the bottom) and a footer of running counts."""

    def __init__(self, source: str, rows: int) -> None:
        self.source = source
        self._rows: deque[dict[str, Any]] = deque(maxlen=max(rows, 1))
        self.calls = 0
        self.errors = 0
        self.started = time.monotonic()

    def resize(self, rows: int) -> None:
        if rows != self._rows.maxlen:
            self._rows = deque(self._rows, maxlen=max(rows, 1))

    def add(self, record: dict[str, Any], *, new: bool = True) -> None:
        self._rows.append(record)
        if new and record.get("outcome") is not None:
            self.calls += 1
            self.errors += record.get("outcome") != OK

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False, expand=True, show_edge=False, header_style="bold")
        table.add_column("time", no_wrap=True, style="dim")
        table.add_column("outcome", no_wrap=True)
        table.add_column("took", justify="right", no_wrap=True)
        table.add_column("principal", no_wrap=True, style="blue", max_width=20)
        table.add_column("call", no_wrap=True, style="bold", max_width=48)
        table.add_column("detail", no_wrap=True, overflow="ellipsis", ratio=1)
        for record in self._rows:
            outcome = outcome_of(record)
            style = STYLES.get(outcome, "cyan")
            table.add_row(
                local_time(record.get("ts")),
                Text(outcome, style=style),
                duration_of(record),
                str(record.get("principal") or "-"),
                target_of(record),
                Text(detail_of(record), style="dim" if outcome == OK else style),
            )
        elapsed = time.monotonic() - self.started
        footer = Text(
            f"following {self.source} · {self.calls} new record(s), {self.errors} not ok · {elapsed:.0f}s"
            " · Ctrl-C to stop",
            style="dim",
        )
        return Group(table, footer)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"
