"""The fast `mcpctl call` through a running host behaves as the full command does, without its imports.

Each case runs twice against the same host: the program as installed (the fast path) and the full
typer command (`mcpctl.cli.main.run`), and compares exit code, stdout and stderr.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.host import ROOT, HostProcess, base_env
from tests.support.waiting import interrupted, wait_until

HEAVY = ("httpx", "typer", "rich", "pydantic", "jsonschema", "asyncio", "keyring")
# Runs the entry point (or the full command), then says which heavy modules were imported.
RUNNER = """
import atexit, json, sys
where = sys.argv[1]
def report():
    with open(where, "w") as out:
        json.dump(sorted(m for m in {heavy!r} if m in sys.modules), out)
atexit.register(report)
sys.argv = ["mcpctl", *sys.argv[2:]]
from mcpctl.cli.{module} import run
run()
"""


def run(
    host: HostProcess, module: str, *args: str, **popen: object
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    imported = host.home / f"imported-{module}.json"
    code = RUNNER.format(heavy=HEAVY, module=module)
    done = subprocess.run(
        [sys.executable, "-c", code, str(imported), "call", *args],
        env=base_env(host.home),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
        **popen,  # type: ignore[arg-type]
    )
    return done, json.loads(imported.read_text())


def same(
    host: HostProcess, *args: str, fast: bool = True, failing: tuple[str, ...] = ("rich",)
) -> subprocess.CompletedProcess[str]:
    """Run `mcpctl call ARGS` both ways; they must agree. Returns the fast one's result.

    The fast path imports none of HEAVY; a failing call may import `failing` (rich prints errors).
    """
    quick, heavy = run(host, "entry", *args)
    full, _ = run(host, "main", *args)
    assert (quick.returncode, quick.stdout, quick.stderr) == (full.returncode, full.stdout, full.stderr)
    if fast:
        allowed = set() if quick.returncode == 0 else set(failing)
        assert set(heavy) <= allowed, f"the fast path imported {heavy}"
    return quick


def test_text_structured_and_raw_results(host: HostProcess) -> None:
    assert same(host, "echo__echo", "message=hi there").stdout == "hi there\n"
    assert same(host, "echo__add", "a=1", "b:=2.5").stdout == "3.5\n"
    raw = json.loads(same(host, "echo__add", "a=1", "b=2", "--json").stdout)
    assert raw["structuredContent"] == {"sum": 3}
    assert same(host, "--json", "echo__echo", "message=x", "--timeout=30").returncode == 0


def test_tool_errors_and_json_rpc_errors(host: HostProcess) -> None:
    failed = same(host, "echo__fail")
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: ")
    boom = same(host, "echo__boom")
    assert boom.returncode == 1
    assert "error" in boom.stderr


def test_argument_errors(host: HostProcess) -> None:
    assert same(host, "echo__add", "a=x", "b=1").returncode == 2
    missing = same(host, "echo__add", "a=1", failing=("rich", "jsonschema"))  # jsonschema words it
    assert missing.returncode == 2
    assert "b: missing (required, expected number)" in missing.stderr
    assert "fix: see `mcpctl call echo__add --help`" in missing.stderr
    unchecked = same(host, "echo__add", "a=1", "--no-validate")  # the server judges
    assert unchecked.returncode != 0


def test_what_the_fast_path_leaves_to_the_full_command_still_works(host: HostProcess) -> None:
    unknown = same(host, "echo__nosuch", fast=False)
    assert unknown.returncode == 2
    assert "no tool named 'echo__nosuch'" in unknown.stderr
    assert same(host, "--server", "echo", "echo", "message=scoped", fast=False).stdout == "scoped\n"
    assert same(host, "echo__echo", "message=x", "--yes", fast=False).returncode == 0


def test_logs_elicitation_and_sampling_during_a_call(host: HostProcess) -> None:
    # (through the host a 2025-era session gets no log notifications unless it asks: the same both ways)
    assert same(host, "slow__log", "level=error", "message=careful").stdout == "logged\n"
    answering = ("rich", "asyncio")  # answering the server is the full command's own code, on asyncio
    refused = same(host, "conf__test_elicitation", "message=Who?", failing=answering)
    assert refused.returncode == 2
    assert "asked for input ('Who?'), but stdin is not a terminal" in refused.stderr
    sampled = same(host, "conf__test_sampling", "prompt=hi", failing=answering)
    assert sampled.returncode != 0


def test_progress_lines(host: HostProcess) -> None:
    quick, heavy = run(host, "entry", "slow__sleep", "seconds=0.4", "steps=2")
    full, _ = run(host, "main", "slow__sleep", "seconds=0.4", "steps=2")
    assert heavy in ([], ["rich"])  # rich draws progress, and only once it arrives
    assert (quick.returncode, quick.stdout) == (full.returncode, full.stdout) == (0, "slept\n")
    # a line about once a second, and the last: which steps show depends on timing
    assert quick.stderr.endswith("progress: 100% step 2 of 2\n")
    assert set(quick.stderr.splitlines()) <= {"progress: 50% step 1 of 2", "progress: 100% step 2 of 2"}


def test_images_are_saved_the_same_way(host: HostProcess, tmp_path: Path) -> None:
    quick, _ = run(host, "entry", "conf__test_image_content")
    full, _ = run(host, "main", "conf__test_image_content")
    pattern = r"^\[image saved to .*/conf__test_image_content-\d{8}-\d{6}-\d+\.png \(image/png\)\]\n$"
    assert re.match(pattern, quick.stdout) and re.match(pattern, full.stdout)


def test_a_timeout_cancels_at_the_backend_and_exits_3(host: HostProcess) -> None:
    cancel_log = host.home / "cancel.log"
    cancel_log.unlink(missing_ok=True)
    timed_out = same(host, "slow__sleep", "seconds=30", "--timeout", "0.5")
    assert timed_out.returncode == 3
    assert (
        timed_out.stderr
        == f"error: the mcpctl host at {host.url} did not answer tools/call in time (see --timeout)\n"
    )
    wait_until(cancel_log.exists, 10, message="the backend logs the cancellation")


@pytest.mark.parametrize("module", ["entry", "main"])
def test_ctrl_c_cancels_at_the_backend_and_exits_130(host: HostProcess, module: str) -> None:
    cancel_log = host.home / "cancel.log"
    cancel_log.unlink(missing_ok=True)
    imported = host.home / "imported-ctrl-c.json"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-c", RUNNER.format(heavy=HEAVY, module=module), str(imported)),
            *("call", "slow__sleep", "seconds=60", "steps=600"),
        ],
        env=base_env(host.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("progress:")
    _, err = interrupted(proc)
    assert proc.returncode == 130
    assert err.splitlines()[-1] == "interrupted: the request was cancelled"
    wait_until(cancel_log.exists, 10, message="the backend logs the cancellation")
    if module == "entry":
        assert json.loads(imported.read_text()) in ([], ["rich"])  # rich: for the progress bar only


def test_the_fast_path_s_constants_are_the_project_s(host: HostProcess) -> None:
    from mcpctl.backends import httpanswers as http
    from mcpctl.cli import hostcall
    from mcpctl.mcpclient import CLIENT_INFO

    assert hostcall.CLIENT_INFO == CLIENT_INFO
    assert hostcall.ACCEPT == http.ACCEPT
    assert hostcall.MAX_RESUMES == http.MAX_RESUMES
