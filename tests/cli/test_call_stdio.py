"""`mcpctl call … -- COMMAND`: a stdio server started for one command; output, arguments, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.conftest import Mcpctl, stdio
from tests.support.host import ROOT, base_env, mcpctl_command
from tests.support.waiting import interrupted, wait_until


def test_text_is_printed_and_the_exit_code_is_0(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "echo", "message=hello world", *stdio("echo.py"))
    assert (done.returncode, done.stdout) == (0, "hello world\n")


def test_arguments_are_coerced_and_the_content_is_shown_once(mcpctl: Mcpctl) -> None:
    """The text content only: its structured copy ({"sum": 5.5}) is for --json (issue 13, defect 3)."""
    done = mcpctl("call", "add", "a=2", "b:=3.5", *stdio("echo.py"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "5.5\n"


def test_json_prints_the_raw_result(mcpctl: Mcpctl) -> None:
    result = json.loads(mcpctl("call", "add", "a=1", "b=1", "--json", *stdio("echo.py")).stdout)
    assert result["content"] == [{"type": "text", "text": "2"}]
    assert result["structuredContent"] == {"sum": 2}
    assert result["resultType"] == "complete"  # as the server sent it, nothing dropped


def test_args_come_from_a_file_and_from_stdin(mcpctl: Mcpctl, tmp_path: Path) -> None:
    path = tmp_path / "args.json"
    path.write_text('{"a": 1, "b": 2}')
    assert mcpctl("call", "add", "--args", f"@{path}", "b=10", *stdio("echo.py")).stdout.startswith("11\n")
    assert (
        mcpctl("call", "echo", "--args", "-", *stdio("echo.py"), input='{"message": "piped"}').stdout
        == "piped\n"
    )


def test_invalid_arguments_are_refused_before_sending_with_exit_2(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "add", "a=1", 'b:="x"', *stdio("echo.py"))
    assert done.returncode == 2
    assert "invalid arguments for add" in done.stderr
    assert "b: 'x' is not of type 'number' (expected number)" in done.stderr
    missing = mcpctl("call", "echo", *stdio("echo.py"))
    assert missing.returncode == 2
    assert "message: missing (required, expected string)" in missing.stderr
    bad = mcpctl("call", "add", "a=one", "b=2", *stdio("echo.py"))
    assert bad.returncode == 2
    assert "argument a: 'one' is not a valid number" in bad.stderr


def test_an_unknown_tool_suggests_the_closest_names(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "ecko", "message=x", *stdio("echo.py"))
    assert done.returncode == 2
    assert "no tool named 'ecko' on server 'echo'" in done.stderr
    assert "did you mean echo?" in done.stderr


def test_a_tool_error_exits_1_with_its_message_on_stderr(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "fail", *stdio("echo.py"))
    assert (done.returncode, done.stdout) == (1, "")
    assert "error: fail: this tool always fails" in done.stderr
    raw = mcpctl("call", "fail", "--json", *stdio("echo.py"))
    assert raw.returncode == 1
    assert json.loads(raw.stdout)["isError"] is True


def test_a_protocol_error_exits_1(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "boom", *stdio("echo.py"))
    assert done.returncode == 1
    assert "boom: this tool always raises a protocol error" in done.stderr


def test_images_audio_and_resources_are_saved_to_files(mcpctl: Mcpctl, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = mcpctl(
        "call", "test_multiple_content_types", "--save-dir", str(out), *stdio("conformance_server.py")
    )
    assert done.returncode == 0, done.stderr
    saved = sorted(out.iterdir())
    assert [p.suffix for p in saved] == [".png"]
    assert saved[0].read_bytes().startswith(b"\x89PNG")
    assert f"[image saved to {saved[0]} (image/png)]" in done.stdout
    assert "[resource test://mixed-content-resource (application/json)]" in done.stdout
    audio = mcpctl("call", "test_audio_content", "--save-dir", str(out), *stdio("conformance_server.py"))
    assert ".wav (audio/wav)]" in audio.stdout


def test_images_go_to_the_data_directory_by_default(mcpctl: Mcpctl, home: Path) -> None:
    done = mcpctl("call", "test_image_content", *stdio("conformance_server.py"))
    saved = list((home / "data" / "files").iterdir())
    assert len(saved) == 1
    assert str(saved[0]) in done.stdout


def test_roots_are_the_current_directory_unless_given(mcpctl: Mcpctl, tmp_path: Path) -> None:
    assert mcpctl("call", "ask_roots", *stdio("asker.py")).stdout == f"roots: {ROOT.as_uri()}\n"
    given = mcpctl(
        "call", "ask_roots", "--root", str(tmp_path), "--root", "/", *stdio("asker.py", "--era", "legacy")
    )
    assert given.stdout == f"roots: {tmp_path.as_uri()}, file:///\n"


def test_elicitation_without_a_terminal_fails_clearly_or_takes_defaults(mcpctl: Mcpctl) -> None:
    for era in ("legacy", "modern"):
        done = mcpctl("call", "ask_elicitation", "message=Who are you?", *stdio("asker.py", "--era", era))
        assert done.returncode == 2
        assert "asked for input ('Who are you?'), but stdin is not a terminal" in done.stderr
        assert "pass --yes" in done.stderr
    no_input = mcpctl("call", "ask_elicitation", "message=Who?", "--no-input", *stdio("asker.py"))
    assert no_input.returncode == 2
    assert "--no-input was given" in no_input.stderr
    defaults = mcpctl(
        "call",
        "test_elicitation_sep1034_defaults",
        "--yes",
        *stdio("conformance_server.py", "--era", "legacy"),
    )
    assert defaults.returncode == 0, defaults.stderr
    assert '"name": "John Doe", "age": 30' in defaults.stdout


def test_sampling_is_not_offered_unless_a_command_answers_it(mcpctl: Mcpctl) -> None:
    refused = mcpctl("call", "ask_sampling", "prompt=Capital of France?", *stdio("asker.py"))
    assert refused.returncode == 1
    assert "did not declare the sampling capability" in refused.stderr
    answered = mcpctl(
        "call",
        "ask_sampling",
        "prompt=Capital of France?",
        "--sampling-command",
        f"{ROOT / '.venv/bin/python'} -c \"print('Paris')\"",
        *stdio("asker.py", "--era", "legacy"),
    )
    assert (answered.returncode, answered.stdout) == (0, "sampled: Paris\n")


def test_a_command_that_does_not_exist_exits_3(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "echo", "--", "/nonexistent/server")
    assert done.returncode == 3
    assert "command not found" in done.stderr


def test_a_server_that_crashes_exits_3_with_its_last_stderr_lines(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "echo", *stdio("crashing.py", "--crash-at-start"))
    assert done.returncode == 3
    assert "last lines the server printed on stderr" in done.stderr


def test_without_a_host_the_message_names_the_fix(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "echo", "message=x")
    assert done.returncode == 3
    assert "no mcpctl host is running" in done.stderr
    assert "mcpctl serve" in done.stderr


def test_a_timeout_cancels_and_exits_3(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "sleep", "seconds=30", "--timeout", "0.5", *stdio("slow.py"))
    assert done.returncode == 3
    assert "did not answer tools/call in time" in done.stderr


def test_ctrl_c_cancels_the_request_at_the_server_and_exits_130(home: Path, tmp_path: Path) -> None:
    log = tmp_path / "cancel.log"
    proc = subprocess.Popen(
        mcpctl_command("call", "sleep", "seconds=60", "steps=600", *stdio("slow.py")),
        env=base_env(home, FIXTURE_CANCEL_LOG=str(log)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # plain progress lines: the server is working on it
    assert first.startswith("progress:"), first
    _, err = interrupted(proc)
    assert proc.returncode == 130
    assert "interrupted: the request was cancelled" in err
    wait_until(log.exists, 10, message="the server logs the cancellation")
    assert log.read_text().startswith("cancelled ")
