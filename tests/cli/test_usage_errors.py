"""Usage errors: one line and a fix on stderr, exit 2, never a traceback, whatever typer is installed.

Run it against another typer release with that environment's python, e.g.
`/tmp/venv/bin/python -m pytest tests/cli/test_usage_errors.py` (see README, Exit codes).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from mcpctl import __version__
from tests.cli.conftest import Mcpctl, run_mcpctl

# (arguments, the error line, the fix line): the commands of issue 13, defect 1, and more like them.
USAGE_ERRORS = [
    (["nosuchcmd"], "error: no such command 'nosuchcmd'", "fix: `mcpctl --help` lists the commands"),
    (
        ["tool"],
        "error: no such command 'tool'",
        "fix: did you mean `mcpctl tools`? `mcpctl --help` lists them all",
    ),
    (
        ["tools", "extra"],
        "error: unexpected argument: extra",
        "fix: `mcpctl tools` takes no arguments; see `mcpctl tools --help`",
    ),
    (["call", "demo__echo", "--bogus"], "error: no such option --bogus", "fix: see `mcpctl call --help`"),
    (
        ["call", "demo__echo", "--jsn"],
        "error: no such option --jsn",
        "fix: did you mean --json? see `mcpctl call --help`",
    ),
    (["servers", "restart"], "error: missing argument NAME", "fix: see `mcpctl servers restart --help`"),
    (["keys", "create"], "error: missing argument NAME", "fix: see `mcpctl keys create --help`"),
    (["logs", "--bogus"], "error: no such option --bogus", "fix: see `mcpctl logs --help`"),
]


@pytest.mark.parametrize(
    ("args", "error", "fix"), USAGE_ERRORS, ids=[" ".join(a) for a, _, _ in USAGE_ERRORS]
)
def test_a_usage_error_is_one_line_and_a_fix(mcpctl: Mcpctl, args: list[str], error: str, fix: str) -> None:
    result = mcpctl(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [error, "  " + fix], result.stderr


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        ([], "Usage: mcpctl [OPTIONS] COMMAND [ARGS]..."),
        (["call"], "Usage: mcpctl call [OPTIONS] TOOL [key=value | key:=json]..."),
        (["config"], "Usage: mcpctl config [OPTIONS] COMMAND [ARGS]..."),
        (["keys"], "Usage: mcpctl keys [OPTIONS] COMMAND [ARGS]..."),
    ],
)
def test_a_bare_command_that_needs_arguments_shows_its_help_on_stderr(
    mcpctl: Mcpctl, args: list[str], usage: str
) -> None:
    result = mcpctl(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == usage
    assert "Traceback" not in result.stderr


def _help(capsys: pytest.CaptureFixture[str], *path: str) -> str:
    """`mcpctl PATH --help`, in this process (the same app and entry point; fast enough for all)."""
    from mcpctl.cli.main import run

    with pytest.raises(SystemExit) as done:
        run([*path, "--help"])
    out, err = capsys.readouterr()
    assert done.value.code == 0, (path, err)
    return out


def test_help_renders_plainly_for_every_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    seen: list[list[str]] = []
    todo: list[list[str]] = [[]]
    while todo:
        path = todo.pop()
        text = _help(capsys, *path)
        seen.append(path)
        assert text.startswith(f"Usage: {' '.join(['mcpctl', *path])} "), text
        # typer 0.29 decorates arguments its own way; mcpctl draws them the same under every release
        usage_and_arguments = re.sub(r"\$\{[^}]*\}", "", text.split("Options:")[0])  # ${keyring:NAME} is text
        for odd in ("<str>", "<int>", "<path>", "<list", "{", "[["):
            assert odd not in usage_and_arguments, (path, text)
        assert "<str>" not in text and "<list[str]>" not in text, (path, text)
        if "Commands:" in text:
            listing = text.split("Commands:", 1)[1]
            todo += [[*path, m] for m in re.findall(r"^  ([a-z][a-z-]*)\s", listing, re.MULTILINE)]
    assert ["servers", "restart"] in seen
    assert ["auth", "login"] in seen
    assert len(seen) > 25


def test_version_names_the_version_and_no_compiled_build_in_a_checkout(mcpctl: Mcpctl) -> None:
    done = mcpctl("--version")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"mcpctl {__version__}\n",
        "",
    )  # see test_compiled


def test_call_help_lists_its_arguments_plainly(mcpctl: Mcpctl) -> None:
    text = mcpctl("call", "--help", env={"COLUMNS": "100"}).stdout
    assert "Usage: mcpctl call [OPTIONS] TOOL [key=value | key:=json]..." in text
    assert re.search(r"^  TOOL\s+The tool's name\.\s+\[required\]$", text, re.MULTILINE), text
    assert re.search(r"^  --url URL\s", text, re.MULTILINE), text


def test_fix_lines_name_commands_that_run_as_printed(home: Path) -> None:
    """Every `mcpctl ...` a usage error's fix line names parses (it may fail for other reasons)."""
    for args, _, _ in USAGE_ERRORS:
        stderr = run_mcpctl(home, *args).stderr
        for command in re.findall(r"`(mcpctl [^`]*)`", stderr.split("fix:", 1)[1]):
            result = run_mcpctl(home, *shlex.split(command)[1:])
            assert result.returncode != 2, (command, result.stderr)


def test_the_installed_typer_is_in_the_declared_range() -> None:
    """The range in pyproject.toml is what the tests ran against (its ends are checked by hand)."""
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    declared = re.search(r'"typer(>=[^"]+)"', text)
    assert declared, "typer is declared with a range"
    low = re.search(r">=([\d.]+)", declared.group(1))
    high = re.search(r"<([\d.]+)", declared.group(1))
    assert low and high, declared.group(1)
    version = tuple(int(p) for p in typer.__version__.split(".")[:3])
    assert (
        tuple(int(p) for p in low.group(1).split("."))
        <= version
        < tuple(int(p) for p in high.group(1).split("."))
    )
    excluded = re.findall(r"!=([\d.]+)", declared.group(1))
    assert typer.__version__ not in excluded
