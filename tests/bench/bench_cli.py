"""Cold start of the commands people type: `mcpctl --help` and `mcpctl call` through a warm host,
against `python -c pass` (the interpreter's own floor) measured in the same run.

Target: `mcpctl call` through a warm host at most 8x `python -c pass` (README, Measured figures);
the last line says whether this run met it.

Run:  .venv/bin/python -m tests.bench.bench_cli [--runs 15]

Each command runs `--runs` times after one unmeasured warm-up (the page cache, .pyc files), in
rotation (one of each per round, so a burst of load elsewhere hits them all alike); the medians
are printed with their ratio to the floor. The host (`mcpctl serve -- fixtures/echo.py`) is
started once and is warm: its child is running, so a call measures the client, not the server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.bench.common import median
from tests.support.host import PYTHON, base_env, fixture, start_host

TARGET = 8.0  # mcpctl call through a warm host, in multiples of `python -c pass`


def timed(commands: dict[str, Sequence[str]], env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time of each command, run in rotation."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        subprocess.run(command, env=env, check=True, capture_output=True)  # warm-up, unmeasured
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            samples[name].append(time.perf_counter() - started)
    return {name: median(values) for name, values in samples.items()}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    entry = str(Path(PYTHON).parent / "mcpctl")  # what a person runs: the installed script
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        host = start_host(home, "--log-level", "warning", "--", *fixture("echo.py"))
        try:
            results = timed(
                {
                    "python -c pass": [PYTHON, "-c", "pass"],
                    "mcpctl --help": [entry, "--help"],
                    "mcpctl call (warm host)": [entry, "call", "echo", "message=hi"],
                    "mcpctl tools (warm host)": [entry, "tools"],
                },
                base_env(home),
                args.runs,
            )
        finally:
            host.stop()
    floor = results["python -c pass"]
    print(f"cold start, median of {args.runs} runs ({os.cpu_count()} CPUs):")
    for name, seconds in results.items():
        print(f"  {name:<36} {seconds * 1000:7.1f} ms  {seconds / floor:5.1f}x python -c pass")
    ratio = results["mcpctl call (warm host)"] / floor
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"mcpctl call (warm host): {ratio:.1f}x python -c pass; target <= {TARGET:g}x: {verdict}")
    return results


if __name__ == "__main__":
    main()
