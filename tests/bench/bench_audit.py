"""Tool-call throughput through a real host with the audit trail on vs off, measured in one run.

Run from the repository root (needs wrk, which keeps the load generator off the gateway's code):

    .venv/bin/python -m tests.bench.bench_audit [--seconds 5] [--rounds 3] [--connections 16]

Each round runs `wrk` against a host with `[audit] enabled = false`, then against the same host
configuration with the audit trail on (defaults: redaction, 1 KB output summaries, hash chain,
rotation). Rounds alternate off/on so drift on a shared machine hits both alike. wrk posts a
2026-07-28 stateless tools/call (echo, with a secret-looking argument so redaction does work)
over keep-alive connections. The 'on' host's trail is then checked: one record per completed
call (wrk's in-flight calls at the end are cancelled, and recorded too), a chain that verifies,
and no drops. Prints requests/s and the gateway's CPU time per call for each round, the ratio of
the best rounds on/off (the target is >= 0.9) and the ratio of the median CPU per call, off/on,
which is steadier when other work shares the machine. Limits and metrics are off in both, so
only the audit trail's cost shows.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from mcpctl.audit.verify import verify
from mcpctl.protocol.headers import standard_headers
from tests.limits.hosting import serve_config, stdio_server
from tests.support.host import HostProcess, fixture
from tests.support.mcp_http import ModernClient

TARGET = 0.9
ARGUMENTS = {"message": "hello", "api_key": "sk-live-abcdefghijklmnopqrstuvwxyz0123"}


def config(on: bool) -> dict[str, Any]:
    return {
        "servers": {"echo": stdio_server(fixture("echo.py"), breaker={"enabled": False})},
        "audit": {"enabled": on},
        "metrics": {"enabled": False},
    }


def lua_script(url: str) -> str:
    body = ModernClient(url).body("tools/call", {"name": "echo__echo", "arguments": ARGUMENTS})
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **standard_headers(body),
    }
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [[{httpx.Request('POST', url, json=body).content.decode()}]]",
    ]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def run_wrk(host: HostProcess, script: Path, seconds: float, connections: int) -> tuple[float, int, str]:
    command = [shutil.which("wrk") or "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    out = subprocess.run(
        [*command, "-s", str(script), host.url], check=True, capture_output=True, text=True
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failures:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+([\d.]+\w+)", out, re.MULTILINE)
    return rate, total, p50.group(1) if p50 else "?"


def check_trail(home: Path, answered: int) -> str:
    """The 'on' host wrote one record per call, chained, with nothing dropped."""
    report = verify(home / "logs" / "audit")
    if not report.ok or report.dropped:
        raise SystemExit(f"the audit trail is not sound: {report.problems[:3]} dropped={report.dropped}")
    if report.records < answered:
        raise SystemExit(f"{report.records} records for at least {answered} answered calls")
    return f"{report.records} records, chain ok"


def cpu_seconds(host: HostProcess) -> float:
    """CPU time of the gateway process itself (all its threads; not its child, not wrk)."""
    times = psutil.Process(host.proc.pid).cpu_times()
    return float(times.user + times.system)


@dataclass
class Round:
    rate: float
    cpu_us: float  # gateway CPU microseconds per call: steadier than calls/s on a busy machine
    p50: str
    note: str


def measure(on: bool, work: Path, seconds: float, connections: int) -> Round:
    home = work / ("on" if on else "off")
    shutil.rmtree(home, ignore_errors=True)
    host = serve_config(home, config(on))
    try:
        with ModernClient(host.url) as client:  # the same call once, checked, before timing it
            assert client.call_tool("echo__echo", ARGUMENTS)["content"][0]["text"] == "hello"
        script = work / "call.lua"
        script.write_text(lua_script(host.url))
        _, warm, _ = run_wrk(host, script, 1, connections)
        before = cpu_seconds(host)
        rate, total, p50 = run_wrk(host, script, seconds, connections)
        cpu_us = (cpu_seconds(host) - before) / total * 1e6
    finally:
        host.stop()
    # After the host stopped (the writer flushes on stop): 1 checked call + the warm-up + the run.
    return Round(rate, cpu_us, p50, check_trail(home, 1 + warm + total) if on else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    best = {False: 0.0, True: 0.0}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-audit-") as tmp:
        for round_ in range(1, args.rounds + 1):
            for on in (False, True):
                r = measure(on, Path(tmp), args.seconds, args.connections)
                best[on] = max(best[on], r.rate)
                cpu[on].append(r.cpu_us)
                print(
                    f"round {round_} audit {'on ' if on else 'off'}: {r.rate:9.1f} calls/s  "
                    f"{r.cpu_us:6.1f} us CPU/call  p50 {r.p50}  {r.note}",
                    flush=True,
                )
    ratio = best[True] / best[False]
    off_cpu, on_cpu = statistics.median(cpu[False]), statistics.median(cpu[True])
    verdict = "ok" if ratio >= TARGET else f"BELOW the {TARGET} target"
    print(f"audit on/off: {best[True]:.1f} / {best[False]:.1f} calls/s = {ratio:.3f} ({verdict})")
    print(
        f"gateway CPU per call, off/on (medians): {off_cpu:.1f} / {on_cpu:.1f} us = {off_cpu / on_cpu:.3f} "
        "(the throughput ratio that CPU cost allows)"
    )
    sys.exit(0 if ratio >= TARGET else 1)


if __name__ == "__main__":
    main()
