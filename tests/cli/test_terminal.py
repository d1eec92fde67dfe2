"""What a person sees in a terminal (a real pty): the progress bar, Ctrl-C, and an elicitation form."""

from __future__ import annotations

import re
from pathlib import Path

import pexpect

from tests.cli.conftest import stdio
from tests.support.host import ROOT, base_env, mcpctl_command
from tests.support.waiting import wait_until

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(home: Path, *args: str, color: bool = False, **extra: str) -> pexpect.spawn:
    env = base_env(home, TERM="xterm-256color", COLUMNS="100", LINES="30", **extra)
    if color:
        env.pop("NO_COLOR")
    command = mcpctl_command(*args)
    return pexpect.spawn(
        command[0], command[1:], env=env, cwd=str(ROOT), encoding="utf-8", timeout=30, dimensions=(30, 100)
    )


def test_a_long_call_shows_a_progress_bar_and_ctrl_c_cancels_it(home: Path, tmp_path: Path) -> None:
    log = tmp_path / "cancel.log"
    child = spawn(
        home,
        "call",
        "sleep",
        "seconds=60",
        "steps=600",
        *stdio("slow.py"),
        color=True,
        FIXTURE_CANCEL_LOG=str(log),
    )
    # the bar: the server's progress message, a bar and a percentage, redrawn in place
    child.expect(r"step (\d+) of 600")
    child.expect("━")
    child.expect(r"\d+%")
    child.sendintr()
    child.expect("interrupted: the request was cancelled")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    wait_until(log.exists, 10, message="the server logs the cancellation")


def test_an_elicitation_form_is_answered_at_the_terminal(home: Path) -> None:
    child = spawn(
        home, "call", "ask_elicitation", "message=Who are you?", *stdio("asker.py", "--era", "legacy")
    )
    child.expect("asks: Who are you\\?")
    child.expect(re.escape("name — Your name (text, required)"))
    child.expect("> ")
    child.sendline("")  # required: asked again
    child.expect("this field is required")
    child.sendline("Ann")
    child.expect(re.escape("send these answers? [Y]es / [n]o, decline / [c]ancel: "))
    child.sendline("y")
    child.expect(re.escape('elicited: accept {"name": "Ann"}'))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_progress_pauses_while_the_form_is_open(home: Path) -> None:
    # a 2026-07-28 server: progress first, then an input_required round asked on the same terminal
    child = spawn(home, "call", "test_streaming_elicitation", *stdio("conformance_server.py"))
    child.expect(r"asks: ")
    screen = ANSI.sub("", child.before or "")
    child.expect("> ")
    child.sendline("Ann")
    index = child.expect([re.escape("send these answers?"), "> "])
    while index == 1:  # optional fields: take their defaults
        child.sendline("")
        index = child.expect([re.escape("send these answers?"), "> "])
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "Traceback" not in screen
