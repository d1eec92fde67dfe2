"""`mcpctl completions SHELL`: the shell completion script (what completions/ in the repository holds)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

PROG = "mcpctl"
COMPLETE_VAR = "_MCPCTL_COMPLETE"
# The file each shell's script is kept in under completions/ (zsh wants _NAME on its fpath).
FILES = {"bash": "mcpctl.bash", "zsh": "_mcpctl", "fish": "mcpctl.fish"}


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def register(app: typer.Typer) -> None:
    app.command("completions")(completions)


def completions(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the completion script for SHELL (tool and server names complete from the host or config).

    Install it with `mcpctl --install-completion`, or for example:
    `mcpctl completions bash > ~/.local/share/bash-completion/completions/mcpctl`.
    """
    from mcpctl.cli.console import Console

    Console().data(script(shell.value))


def script(shell: str) -> str:
    """What typer's completion machinery generates: as `_MCPCTL_COMPLETE=source_SHELL mcpctl` prints it."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell) + "\n"
