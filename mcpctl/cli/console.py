"""The only place that prints: data to stdout, messages to stderr, NO_COLOR and non-TTY respected."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console as RichConsole

GAP = 2  # spaces between table columns
MIN_LAST = 24  # narrower than this, the last column goes on lines of its own


class Console:
    """Two rich consoles (stdout for data, stderr for messages) created on first use.

    rich is imported only when something needs it (a terminal, markup), so a command whose output
    goes to a pipe starts faster.
    """

    def __init__(self, *, no_color: bool | None = None) -> None:
        self._no_color = no_color if no_color is not None else bool(os.environ.get("NO_COLOR"))

    @cached_property
    def out(self) -> RichConsole:
        from rich.console import Console as RichConsole

        return RichConsole(file=sys.stdout, no_color=self._no_color, highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> RichConsole:
        from rich.console import Console as RichConsole

        return RichConsole(file=sys.stderr, no_color=self._no_color, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        """Whether stdout is a terminal (as rich decides it, without importing rich for a pipe)."""
        return _may_be_terminal(sys.stdout) and self.out.is_terminal

    def data(self, text: str) -> None:
        """Plain text data on stdout, exactly as given (no markup interpretation)."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def json(self, value: Any) -> None:
        """JSON on stdout: highlighted on a terminal, compact-indented for pipes."""
        text = json.dumps(value, indent=2, ensure_ascii=False)
        if not self._no_color and self.interactive:
            self.out.print_json(text)
        else:
            self.data(text)

    def table(self, rows: Sequence[Sequence[str]], headers: Sequence[str] | None = None) -> None:
        """Rows of columns on stdout.

        On a terminal: aligned, every column but the last in full (a name is never cut), the last
        shortened with "…" to the width (a cell's extra lines under it); when too little room is
        left, the last column goes on indented lines of its own. Piped: one tab-separated line per
        row, nothing cut, wrapped or drawn (a cell's lines joined with " | ").
        """
        if not rows:
            return
        if not self.interactive:
            for row in [headers, *rows] if headers else rows:
                self.data("\t".join(" | ".join(cell.splitlines()) for cell in row).rstrip("\t"))
            return
        from rich.text import Text

        for line, style in _layout(rows, headers, self.out.width):
            self.out.print(Text(line, style=style), soft_wrap=True, overflow="ignore", crop=False)

    def info(self, message: str) -> None:
        self.err.print(message, markup=False)

    def success(self, message: str) -> None:
        self.err.print(f"[green]✓[/green] {_escape(message)}")

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {_escape(message)}")

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error:[/bold red] {_escape(message)}")


def _may_be_terminal(stream: Any) -> bool:
    """False only where rich would say "not a terminal" too: no tty, and no variable forcing one."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _layout(
    rows: Sequence[Sequence[str]], headers: Sequence[str] | None, width: int
) -> list[tuple[str, str]]:
    """The lines of a terminal table, each with its style ("bold" for the header)."""
    from rich.cells import cell_len

    every = [list(headers)] if headers else []
    every += [list(row) for row in rows]
    count = max(len(row) for row in every)
    every = [row + [""] * (count - len(row)) for row in every]
    fixed = [max(cell_len(row[i]) for row in every) for i in range(count - 1)]
    left = sum(fixed) + GAP * (count - 1)
    room = width - left
    lines: list[tuple[str, str]] = []
    for index, row in enumerate(every):
        style = "bold" if headers and index == 0 else ""
        head = "".join(_pad(cell, w) + " " * GAP for cell, w in zip(row[:-1], fixed, strict=True))
        last = row[-1].splitlines() or [""]
        if room >= MIN_LAST:
            lines.append(((head + _fit(last[0], room)).rstrip(), style))
            lines += [((" " * left + _fit(more, room)).rstrip(), style) for more in last[1:]]
        else:
            lines.append((head.rstrip(), style))
            lines += [(("    " + _fit(text, width - 4)).rstrip(), style) for text in last if text]
    return lines


def _pad(text: str, width: int) -> str:
    from rich.cells import cell_len

    return text + " " * (width - cell_len(text))


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` cells, ending in "…" when it was longer."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)) + "…"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
