"""Progress notifications shown on stderr: a bar on a terminal, occasional plain lines otherwise."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console as RichConsole
    from rich.progress import Progress, TaskID

PLAIN_INTERVAL = 1.0  # seconds between plain progress lines (pipes and logs need not see every step)


class ProgressDisplay:
    """Created before a request; shows nothing until the first progress notification arrives."""

    def __init__(
        self, console: RichConsole, label: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._console = console
        self._label = label
        self._clock = clock
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last_plain = float("-inf")
        self._paused = False

    @property
    def interactive(self) -> bool:
        return self._console.is_terminal

    def update(self, params: dict[str, Any]) -> None:
        progress = _number(params.get("progress"))
        total = _number(params.get("total"))
        message = params.get("message")
        text = message if isinstance(message, str) and message else self._label
        if progress is None:
            return
        if self.interactive:
            self._update_bar(progress, total, text)
        else:
            self._update_plain(progress, total, text)

    def _update_bar(self, progress: float, total: float | None, text: str) -> None:
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._task = self._bar.add_task(text, total=total)
            if not self._paused:
                self._bar.start()
        if self._task is not None:
            self._bar.update(self._task, completed=progress, total=total, description=text)

    def _update_plain(self, progress: float, total: float | None, text: str) -> None:
        now = self._clock()
        finished = total is not None and progress >= total
        if now - self._last_plain < PLAIN_INTERVAL and not finished:
            return
        self._last_plain = now
        amount = f"{progress / total:.0%}" if total else f"{progress:g}"
        self._console.print(f"progress: {amount} {text}", markup=False, highlight=False)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Take the bar off the screen while the person answers a question."""
        self._paused = True
        if self._bar is not None:
            self._bar.stop()
        try:
            yield
        finally:
            self._paused = False
            if self._bar is not None:
                self._bar.start()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
