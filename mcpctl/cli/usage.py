"""Usage errors and help that read the same under every typer release mcpctl allows."""

# typer 0.26 started bundling its own copy of click (`typer._click`), and 0.29 changed how help
# shows arguments (`{TOOL}`, `<str>`). So mcpctl finds click's exception classes through typer's
# public `BadParameter`, and draws usage lines and argument lists itself.

from __future__ import annotations

import difflib
import re
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

PROG = "mcpctl"


class NoArguments(Exception):
    """A command that needs arguments got none: its help goes to stderr and the exit code is 2."""

    def __init__(self, ctx: Any) -> None:
        super().__init__("no arguments")
        self.ctx = ctx


def _parse_args(command: Any, ctx: Any, args: list[str]) -> bool:
    """Whether the command was called bare although it needs arguments (then raise NoArguments)."""
    return not args and bool(getattr(command, "no_args_is_help", False)) and not ctx.resilient_parsing


def _usage_piece(param: Any) -> str:
    """TOOL, [NAME], NAME... -- or the metavar exactly as written (it may carry its own brackets)."""
    if param.metavar:
        return str(param.metavar)
    name = str(param.name).upper()
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    pieces += [_usage_piece(p) for p in command.get_params(ctx) if p.param_type_name == "argument"]
    if isinstance(command, TyperGroup):
        pieces.append(command.subcommand_metavar or "COMMAND [ARGS]...")
    return pieces


def _format_options(command: Any, ctx: Any, formatter: Any) -> None:
    arguments = []
    options = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            help_text = getattr(param, "help", None) or ""
            arguments.append((_usage_piece(param), help_text + ("  [required]" if param.required else "")))
        elif param.param_type_name == "option":
            record = param.get_help_record(ctx)
            if record is not None:
                options.append(record)
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    if options:
        with formatter.section("Options"):
            formatter.write_dl(options)
    if isinstance(command, TyperGroup):
        command.format_commands(ctx, formatter)


class _McpctlBehaviour:
    """mcpctl's usage line, argument list and bare-call behaviour, for commands and groups alike."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if _parse_args(self, ctx, args):
            raise NoArguments(ctx)
        return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_options(self, ctx, formatter)


class McpctlCommand(_McpctlBehaviour, TyperCommand):
    """A typer command with mcpctl's usage line, argument list and bare-call behaviour."""


class McpctlGroup(_McpctlBehaviour, TyperGroup):
    """A typer group with mcpctl's usage line, argument list and bare-call behaviour."""


class McpctlTyper(typer.Typer):
    """A typer app (or command group) whose commands use mcpctl's classes unless told otherwise."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or McpctlCommand, **kwargs)


def new_app(**settings: Any) -> typer.Typer:
    """A typer app (or command group) that uses mcpctl's classes."""
    return McpctlTyper(cls=McpctlGroup, **settings)


# -- click's exceptions, wherever typer keeps them ------------------------------------------------


def _click_class(name: str) -> type[BaseException] | None:
    """A class of the click typer runs on: typer's own copy (>= 0.26) or the click package."""
    import sys

    for cls in typer.BadParameter.__mro__:  # BadParameter -> UsageError -> ClickException
        if cls.__name__ == name:
            return cls
    module = sys.modules.get(typer.BadParameter.__module__)
    found = getattr(module, name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def is_abort(exc: BaseException) -> bool:
    """click's Abort (Ctrl-C or EOF at a prompt) or typer's."""
    abort = _click_class("Abort")
    return isinstance(exc, typer.Abort) or (abort is not None and isinstance(exc, abort))


def exit_code_of(exc: BaseException) -> int | None:
    """The code of click's or typer's Exit, or None for anything else."""
    if isinstance(exc, typer.Exit):
        return int(getattr(exc, "exit_code", 0))
    click_exit = _click_class("Exit")
    if click_exit is not None and isinstance(exc, click_exit):
        return int(getattr(exc, "exit_code", 0))
    return None


def explain(exc: BaseException) -> tuple[str, str] | None:
    """(message, fix) for one of click's usage errors, or None when `exc` is not one.

    The wording is mcpctl's own, so it does not change with the click typer happens to bundle.
    """
    click_error = _click_class("ClickException")
    if click_error is None or not isinstance(exc, click_error):
        return None
    ctx = getattr(exc, "ctx", None)
    path = str(ctx.command_path) if ctx is not None else PROG
    text = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
    if ctx is None:
        return _sentence(text), f"see `{path} --help`"
    return _explain_in(exc, ctx, path, text)


def _explain_in(exc: BaseException, ctx: Any, path: str, text: str) -> tuple[str, str]:
    see = f"see `{path} --help`"
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    extra = _EXTRA.search(text)
    if kind == "NoSuchOption":
        name = str(getattr(exc, "option_name", "") or text.rsplit(maxsplit=1)[-1])
        close = difflib.get_close_matches(name, _option_names(ctx), n=2, cutoff=0.7)
        return f"no such option {name}", f"did you mean {' or '.join(close)}? {see}" if close else see
    if kind == "MissingParameter" and param is not None:
        if param.param_type_name == "argument":
            return f"missing argument {_usage_piece(param).strip('[]')}", see
        return f"missing option {'/'.join(param.opts)}", see
    if extra:
        takes = [p for p in ctx.command.get_params(ctx) if p.param_type_name == "argument"]
        return (
            f"unexpected argument: {extra.group(1)}",
            f"`{path}` takes no arguments; {see}" if not takes else see,
        )
    message = _sentence(text)
    if message.startswith("no such command"):
        return _no_such_command(message, ctx, path)
    return message, see


def _no_such_command(message: str, ctx: Any, path: str) -> tuple[str, str]:
    message = re.split(r"\.?\s*did you mean", message, flags=re.IGNORECASE)[0]
    word = message.removeprefix("no such command").strip(" '\"")
    commands = ctx.command.list_commands(ctx) if hasattr(ctx.command, "list_commands") else []
    close = difflib.get_close_matches(word, commands, n=3)
    if close:
        names = " or ".join(f"`{path} {c}`" for c in close)
        return message, f"did you mean {names}? `{path} --help` lists them all"
    return message, f"`{path} --help` lists the commands"


_EXTRA = re.compile(r"unexpected extra arguments?(?:\(s\))? \((.*)\)", re.IGNORECASE)


def _option_names(ctx: Any) -> list[str]:
    names: list[str] = []
    for param in ctx.command.get_params(ctx):
        names += [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
    return [n for n in names if n.startswith("-")]


def _sentence(text: str) -> str:
    """click's "Got unexpected extra argument (x)." as mcpctl words its errors: lower case, one line."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text
