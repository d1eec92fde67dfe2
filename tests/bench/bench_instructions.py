"""Per-call cost in CPU instructions: `mcpctl serve` against the empty ASGI app, both under callgrind.

Run:  .venv/bin/python -m tests.bench.bench_instructions [--seconds 10] [--connections 32]
                                                   [--parts | --compiled] [--against DIR]

Instructions, unlike seconds, do not move with the machine's other load (callgrind counts the same
work the same, a busy core or not), so one run gives a figure a change can be judged by. Each side
runs under `valgrind --tool=callgrind` on core 0, with the instrumentation switched on after start
up: wrk (core 1) warms it for 3 s at 8 connections, the counters are zeroed, wrk drives it for
`--seconds` at `--connections`, and the counters are dumped. Per request is the dump's total over
the requests wrk saw answered (the few still in flight when wrk stops, at most `--connections`, are
counted without being answered: under 4 % at the defaults). The sides: tests/bench/empty_app.py
(uvicorn + httptools + uvloop answering a fixed result), and mcpctl with its default configuration
(audit trail and metrics on) and one shared `fixtures/echo.py` child (outside valgrind, not counted).

Target: at most 2.4x the empty app's instructions per request, the issue's 45 us of host CPU per
call against the empty app's 19 us on the day it was written (issue 15). Exits 1 when missed.

With `--parts`, it measures instead what each optional part adds to a call: a host with all of
them off, then one host per part with only that part on: the audit trail, metrics, API-key auth
(every call presents a key), and limits (a generous rule in every scope at both levels, and a
breaker: none ever refuses, every call pays for them). A part's cost is the share of throughput it
takes, 1 - off/on in instructions per call; the target is under 5 % each (issue 15). At 32
connections a side's figure moves by 2-4 % between runs (how requests batch under the machine's
load); with `--connections 1` every call takes the same way, and the all-off side of two runs
agrees within 0.1-0.6 %: that is the figure to judge a change of a per cent or two by. A side with
the audit trail on moves more (476-489 k for the same code): its batches are per 20 ms of wall
time, so how many calls share one moves with how fast callgrind runs on the machine.

With `--compiled`, a third side: the same default host from the compiled build (mypyc; README,
"A compiled build"; made by tests/support/compiled.py), against the empty app and the interpreted
host. The verdict stays the interpreted host's: that is the default install.

With `--against DIR`, one more side: the default host from the mcpctl in DIR (a checkout of another
commit: `git worktree add DIR COMMIT`), for a before/after from one run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.bench_auth import api_key_header
from tests.bench.bench_limits_metrics import generous_rules
from tests.bench.bench_percall import EmptyApp
from tests.bench.common import (
    GATEWAY_CPU,
    echo_request,
    other_checkout,
    pin_self_to_load_cpu,
    pinned,
    wrk,
    wrk_script,
)
from tests.limits.hosting import serve_config, stdio_server
from tests.support.compiled import compiled_copy
from tests.support.host import fixture, start_host

TARGET = 45 / 19
WARM_SECONDS = 3.0
STARTUP = 300.0  # seconds: a Python start under valgrind is slow, even uninstrumented
PARTS = ("audit", "metrics", "auth", "limits")
PART_TARGET = 0.05
SLOW = 30.0  # seconds a request may take under callgrind (about 60 times slower) before wrk gives up


def callgrind(out: Path, *, from_start: bool = False) -> list[str]:
    """The prefix that runs a command under callgrind: instrumentation off until switched on,
    unless `from_start` (then the whole run is counted)."""
    switched = [] if from_start else ["--instr-atstart=no"]
    return ["valgrind", "--tool=callgrind", "--quiet", *switched, f"--callgrind-out-file={out}"]


def total_instructions(dump: Path) -> int:
    """The instructions a callgrind dump counted, all threads together."""
    return next(int(line.split()[1]) for line in dump.open() if line.startswith("summary:"))


def control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def per_request(
    url: str, pid: int, out: Path, script: Path, connections: int, seconds: float
) -> tuple[float, int]:
    """Instructions per answered request of the process `pid` (running under callgrind(out)), and
    how many requests were answered."""
    control(pid, "--instr=on")
    wrk(url, script, 8, WARM_SECONDS, timeout=SLOW).clean()
    control(pid, "--zero")
    result = wrk(url, script, connections, seconds, timeout=SLOW).clean()
    control(pid, "--dump")
    dump = out.with_name(out.name + ".1")
    return total_instructions(dump) / result.total, result.total


def default_host(
    work: Path, name: str, script: Path, connections: int, seconds: float, **options: Any
) -> tuple[float, int]:
    """Instructions per call of `mcpctl serve` as configured by default, and how many calls."""
    out = work / f"{name}.cg"
    host = start_host(
        work / name,
        "--log-level",
        "warning",
        "--",
        *fixture("echo.py"),
        prefix=pinned(GATEWAY_CPU, callgrind(out)),
        timeout=STARTUP,
        **options,
    )
    try:
        return per_request(host.url, host.proc.pid, out, script, connections, seconds)
    finally:
        host.stop()


def against_empty(
    work: Path, seconds: float, connections: int, compiled: bool = False, against: Path | None = None
) -> bool:
    """The default host against the empty app (and the compiled build, and another checkout's
    host); True when the target is met."""
    source = compiled_copy(work) if compiled else None  # before any measuring: it takes a while
    script = wrk_script(work / "call.lua", echo_request())
    out = work / "empty.cg"
    app = EmptyApp(prefix=callgrind(out), timeout=STARTUP)
    try:
        empty, empty_n = per_request(app.url, app.proc.pid, out, script, connections, seconds)
    finally:
        app.close()
    mcpctl, mcpctl_n = default_host(work, "mcpctl", script, connections, seconds)
    ratio = mcpctl / empty
    print(f"empty ASGI app : {empty:9,.0f} instructions per request ({empty_n} requests)")
    print(f"mcpctl         : {mcpctl:9,.0f} instructions per call ({mcpctl_n} calls, one shared echo child)")
    print(f"mcpctl / empty : {ratio:.2f}x (target <= {TARGET:.1f}x)")
    if source is not None:
        fast, fast_n = default_host(work, "mypyc", script, connections, seconds, source=source)
        print(f"mcpctl, mypyc  : {fast:9,.0f} instructions per call ({fast_n} calls, one shared echo child)")
        print(f"mypyc / empty  : {fast / empty:.2f}x; mypyc / interpreted: {fast / mcpctl:.2f}")
    if against is not None:
        other, other_n = default_host(work, "against", script, connections, seconds, source=against)
        print(
            f"--against host : {other:9,.0f} instructions per call ({other_n} calls, one shared echo child)"
        )
        print(f"against / empty: {other / empty:.2f}x; this checkout / against: {mcpctl / other:.2f}")
    return ratio <= TARGET


def part_config(part: str) -> dict[str, Any]:
    """A host with one echo child and only `part` on ("none": every optional part off)."""
    server = stdio_server(fixture("echo.py"), breaker={"enabled": part == "limits"})
    config: dict[str, Any] = {
        "servers": {"echo": server},
        "audit": {"enabled": part == "audit"},
        "metrics": {"enabled": part == "metrics"},
    }
    if part == "auth":
        config["auth"] = {"mode": "api-key"}
    if part == "limits":
        config["limits"] = {"rules": generous_rules()}
    return config


def part_costs(work: Path, seconds: float, connections: int) -> bool:
    """Instructions per call with each part alone on against all off; True when each is under target."""
    per_call: dict[str, float] = {}
    for part in ("none", *PARTS):
        home = work / part
        home.mkdir()
        headers = api_key_header(home) if part == "auth" else None
        script = wrk_script(work / f"{part}.lua", echo_request(name="echo__echo"), headers)
        out = work / f"{part}.cg"
        prefix = pinned(GATEWAY_CPU, callgrind(out))
        host = serve_config(home, part_config(part), prefix=prefix, timeout=STARTUP)
        try:
            per_call[part], calls = per_request(host.url, host.proc.pid, out, script, connections, seconds)
        finally:
            host.stop()
        print(f"{part:<8}: {per_call[part]:9,.0f} instructions per call ({calls} calls)", flush=True)
    met = True
    for part in PARTS:
        share = 1 - per_call["none"] / per_call[part]
        met = met and share < PART_TARGET
        print(f"{part} costs {share:.1%} of throughput (target < {PART_TARGET:.0%})")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--parts", action="store_true", help="what each optional part adds to a call")
    which.add_argument("--compiled", action="store_true", help="also the compiled build (mypyc)")
    parser.add_argument("--against", type=other_checkout, metavar="DIR", help="also another checkout's host")
    args = parser.parse_args()
    if args.parts and args.against:
        parser.error("--against compares default hosts; it does not go with --parts")
    if shutil.which("valgrind") is None or shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs valgrind and wrk (Debian: apt-get install valgrind wrk)")
    pin_self_to_load_cpu()
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-instructions-") as tmp:
        if args.parts:
            met = part_costs(Path(tmp), args.seconds, args.connections)
        else:
            met = against_empty(Path(tmp), args.seconds, args.connections, args.compiled, args.against)
    print(f"verdict: {'ok' if met else 'missed'}")
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
