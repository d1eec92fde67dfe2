"""The only place that prints: data to stdout, messages to stderr, NO_COLOR and non-TTY respected."""

from __future__ import annotations

import json
import os
import sys
from functools import cached_property
from typing import Any

from rich.console import Console as RichConsole


class Console:
    """Two rich consoles (stdout for data, stderr for messages) created on first use."""

    def __init__(self, *, no_color: bool | None = None) -> None:
        self._no_color = no_color if no_color is not None else bool(os.environ.get("NO_COLOR"))

    @cached_property
    def out(self) -> RichConsole:
        return RichConsole(file=sys.stdout, no_color=self._no_color, highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> RichConsole:
        return RichConsole(file=sys.stderr, no_color=self._no_color, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return self.out.is_terminal

    def data(self, text: str) -> None:
        """Plain text data on stdout, exactly as given (no markup interpretation)."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def json(self, value: Any) -> None:
        """JSON on stdout: highlighted on a terminal, compact-indented for pipes."""
        text = json.dumps(value, indent=2, ensure_ascii=False)
        if self.out.is_terminal and not self._no_color:
            self.out.print_json(text)
        else:
            self.data(text)

    def info(self, message: str) -> None:
        self.err.print(message, markup=False)

    def success(self, message: str) -> None:
        self.err.print(f"[green]✓[/green] {_escape(message)}")

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {_escape(message)}")

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error:[/bold red] {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
