"""Per-call cost of a stdio server on mcpctl's toolkit (mcpctl.demo) against a bare loop, in CPU instructions.

Run:  .venv/bin/python -m tests.bench.bench_child [--calls 5000] [--python PATH]

Each side runs under `valgrind --tool=callgrind`, fed its calls from a file, twice: with --calls
calls and with a tenth as many. Their difference over the difference in calls is one call's cost,
start-up cancelled out. The sides: tests/bench/bare_child.py (parse a line, answer the echo, write:
what any stdio server must do) and fixtures/echo.py (the toolkit: both eras, validation, a task per
request), both answering 2026-07-28 calls of `echo` (tests/bench/common.py, echo_lines).
Instructions, unlike seconds, do not move with the machine's other load. `--python` picks the
interpreter (the toolkit starts requests eagerly on 3.12 and later). No target: it says what the
toolkit costs over the bare minimum; in bench_percall this child shares a core with the host.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.bench.bench_instructions import callgrind, total_instructions
from tests.bench.common import echo_lines
from tests.support.host import FIXTURES, PYTHON, ROOT

BARE = [str(ROOT / "tests" / "bench" / "bare_child.py")]
SIDES = {"bare loop": BARE, "echo fixture": [str(FIXTURES / "echo.py")]}


def instructions(python: str, script: list[str], calls: Path, out: Path) -> int:
    """Instructions the whole run of `python script < calls` took (its threads included)."""
    with calls.open("rb") as stdin:
        subprocess.run(
            [*callgrind(out, from_start=True), python, *script],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            check=True,
            cwd=ROOT,
        )
    return total_instructions(out)


def calls_file(path: Path, count: int) -> Path:
    path.write_bytes(echo_lines(count))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--python", default=PYTHON, help="the interpreter both sides run on")
    args = parser.parse_args()
    if args.calls < 20:
        parser.error("--calls must be at least 20 (a tenth of them measure start-up)")
    if shutil.which("valgrind") is None:
        raise SystemExit("this benchmark needs valgrind (Debian: apt-get install valgrind)")
    few = args.calls // 10
    per_call: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-child-") as tmp:
        work = Path(tmp)
        many_calls, few_calls = calls_file(work / "many", args.calls), calls_file(work / "few", few)
        for side, script in SIDES.items():
            many = instructions(args.python, script, many_calls, work / "many.cg")
            start = instructions(args.python, script, few_calls, work / "few.cg")
            per_call[side] = (many - start) / (args.calls - few)
    bare, toolkit = per_call["bare loop"], per_call["echo fixture"]
    print(f"bare loop    : {bare:9,.0f} instructions per call")
    print(f"echo fixture : {toolkit:9,.0f} instructions per call ({toolkit / bare:.2f}x the bare loop)")


if __name__ == "__main__":
    main()
