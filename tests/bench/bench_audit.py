"""Tool-call throughput through a real host with the audit trail on vs off, measured in one run.

Run from the repository root (needs wrk, which keeps the load generator off the gateway's core;
with two cores or more the host and its child are pinned to core 0 and wrk to core 1):

    .venv/bin/python -m tests.bench.bench_audit [--seconds 5] [--rounds 3] [--connections 16]
                                                [--message-chars 0]

Each round runs `wrk` against a host with `[audit] enabled = false`, then against the same host
configuration with the audit trail on (defaults: redaction, 1 KB output summaries, hash chain,
rotation). Rounds alternate off/on so drift on a shared machine hits both alike. wrk posts a
2026-07-28 stateless tools/call (echo, with a secret-looking argument so redaction does work)
over keep-alive connections; `--message-chars N` makes its message N characters of ordinary prose
(and so the tool's output too, where redaction reads every character of each; 0, the default:
"hello"). The 'on' host's trail is then checked: one record per completed call (wrk's in-flight
calls at the end are cancelled, and recorded too), a chain that verifies, and no drops. Prints
requests/s and the gateway's CPU time per call for each round, the ratio of the best rounds on/off
(the target is >= 0.9) and the ratio of the median CPU per call, off/on, which is steadier when
other work shares the machine. Limits and metrics are off in both, so only the audit trail's cost
shows.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcpctl.audit.verify import verify
from tests.bench.common import GATEWAY_CPU, WrkResult, echo_request, pinned, wrk, wrk_arguments, wrk_script
from tests.limits.hosting import serve_config, stdio_server
from tests.support.host import fixture
from tests.support.mcp_http import ModernClient

TARGET = 0.9
SECRET_ARGUMENT = {"api_key": "sk-live-abcdefghijklmnopqrstuvwxyz0123"}
PROSE = (
    "The quick brown fox jumps over the lazy dog while the sun sets over a distant ridge, "
    "and a report lists 42 results from the search: files, tables, rows and summaries. "
)


def message(chars: int) -> str:
    """The echo's message: "hello", or `chars` characters of text with nothing to redact."""
    return (PROSE * (chars // len(PROSE) + 1))[:chars] if chars else "hello"


def config(on: bool) -> dict[str, Any]:
    return {
        "servers": {"echo": stdio_server(fixture("echo.py"), breaker={"enabled": False})},
        "audit": {"enabled": on},
        "metrics": {"enabled": False},
    }


def check_trail(home: Path, answered: int) -> str:
    """The 'on' host wrote one record per call, chained, with nothing dropped."""
    report = verify(home / "logs" / "audit")
    if not report.ok or report.dropped:
        raise SystemExit(f"the audit trail is not sound: {report.problems[:3]} dropped={report.dropped}")
    if report.records < answered:
        raise SystemExit(f"{report.records} records for at least {answered} answered calls")
    return f"{report.records} records, chain ok"


def measure(on: bool, work: Path, seconds: float, connections: int, text: str) -> tuple[WrkResult, str]:
    """The timed run against a host with the audit trail on or off, and what its trail check found."""
    arguments = {"message": text, **SECRET_ARGUMENT}
    home = work / ("on" if on else "off")
    shutil.rmtree(home, ignore_errors=True)
    host = serve_config(home, config(on), prefix=pinned(GATEWAY_CPU, []))
    try:
        with ModernClient(host.url) as client:  # the same call once, checked, before timing it
            assert client.call_tool("echo__echo", arguments)["content"][0]["text"] == text
        script = wrk_script(work / "call.lua", echo_request(name="echo__echo", arguments=arguments))
        warm = wrk(host.url, script, connections, 1).clean()
        run = wrk(host.url, script, connections, seconds, host.proc.pid).clean()
    finally:
        host.stop()
    # After the host stopped (the writer flushes on stop): 1 checked call + the warm-up + the run.
    return run, check_trail(home, 1 + warm.total + run.total) if on else ""


def main() -> None:
    args = wrk_arguments(
        __doc__, rounds=3, more=lambda parser: parser.add_argument("--message-chars", type=int, default=0)
    )
    text = message(args.message_chars)
    best = {False: 0.0, True: 0.0}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-audit-") as tmp:
        for round_ in range(1, args.rounds + 1):
            for on in (False, True):
                r, note = measure(on, Path(tmp), args.seconds, args.connections, text)
                best[on] = max(best[on], r.rate)
                # the gateway's CPU per call: steadier than calls/s on a busy machine
                cpu[on].append(r.cpu_us_per_call)
                print(
                    f"round {round_} audit {'on ' if on else 'off'}: {r.rate:9.1f} calls/s  "
                    f"{r.cpu_us_per_call:6.1f} us CPU/call  p50 {r.p50_ms:.2f} ms  {note}",
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
