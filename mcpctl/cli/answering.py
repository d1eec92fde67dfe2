"""What client commands share without typer (the fast `mcpctl call` too): answers, logs, progress, files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from mcpctl.cli.console import Console
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.progress import ProgressDisplay


DEFAULT_TIMEOUT = 300.0  # seconds a client command waits for its answer (--timeout)


class Pausable(Protocol):
    """A progress display the elicitor takes off the screen while a person answers."""

    def paused(self) -> AbstractContextManager[None]: ...


def answerer_for(
    label: str,
    console: Console,
    progress: Pausable | None,
    *,
    roots: Sequence[Path] | None,
    no_input: bool,
    yes: bool,
    sampling_command: str | None,
) -> CliAnswerer:
    """How this command answers the server: a terminal form, defaults (--yes), or a clear refusal."""
    import sys

    from mcpctl.client.answers import CliAnswerer, Elicitor
    from mcpctl.client.elicit import DefaultsElicitor, RefusingElicitor, TerminalElicitor

    elicitor: Elicitor
    if no_input:
        elicitor = RefusingElicitor("--no-input was given")
    elif yes:
        elicitor = DefaultsElicitor()
    elif sys.stdin.isatty():
        elicitor = TerminalElicitor(
            ConsoleTerminal(console), progress.paused if progress else _no_pause, _open_url
        )
    else:
        elicitor = RefusingElicitor("stdin is not a terminal")
    return CliAnswerer(
        label,
        roots=list(roots or []) or [Path.cwd()],
        elicitor=elicitor,
        warn=console.warn,
        sampling_command=sampling_command,
    )


class ConsoleTerminal:
    """The person at the terminal: prompts on stderr (through the console), answers from stdin."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def write(self, text: str) -> None:
        self._console.err.print(text, end="", markup=False, highlight=False)

    def read_line(self, prompt: str) -> str | None:
        self.write(prompt)
        try:
            return input()
        except EOFError:
            return None


def log_printer(console: Console, label: str) -> Any:
    """Server log notifications (warning and above) as lines on stderr."""
    import json

    from mcpctl.protocol.eras import log_level_rank

    threshold = log_level_rank("warning")

    def show(params: dict[str, Any]) -> None:
        level = params.get("level")
        if log_level_rank(level) < threshold:
            return
        data = params.get("data")
        logger = params.get("logger")
        source = f"{label}" + (f" ({logger})" if isinstance(logger, str) else "")
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        console.err.print(f"{source} [{level}]: {text}", markup=False, highlight=False)

    return show


def save_dir_of(option: Path | None) -> Path:
    from mcpctl.paths import Paths

    return option if option is not None else Paths.from_env().data_dir / "files"


def _open_url(url: str) -> None:
    import webbrowser

    webbrowser.open(url)


def _no_pause() -> Any:
    import contextlib

    return contextlib.nullcontext()


class LazyProgress:
    """The full command's ProgressDisplay, made when the first progress notification arrives."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self.display: ProgressDisplay | None = None

    def update(self, params: dict[str, Any]) -> None:
        if self.display is None:
            from mcpctl.client.progress import ProgressDisplay

            self.display = ProgressDisplay(self._console.err, self._label)
        self.display.update(params)

    def paused(self) -> Any:
        import contextlib

        return self.display.paused() if self.display is not None else contextlib.nullcontext()

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
