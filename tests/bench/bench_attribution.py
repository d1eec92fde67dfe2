"""Attribution: what running calls one at a time on a shared 2025-era stdio child costs, so that a
server's question goes to the call that caused it, in one run through one `mcpctl serve`.

Run:  .venv/bin/python -m tests.bench.bench_attribution [--concurrency 8] [--sleep-ms 100] [--batches 3]

On a shared legacy stdio child nothing on the wire says which call a server->client request belongs
to, so a call from a client that could be asked (it declared sampling or elicitation) runs alone
there, until its tool has run alone QUIET_AFTER (3) times without asking; then it runs beside others.
One host serves two servers, each one shared child speaking only 2025-era MCP (--era legacy):
fixtures/slow.py (`sleep`: never asks) and fixtures/asker.py (`ask_then_work`: one elicitation, then
works). K 2025-era sessions of each kind, raw HTTP (httpx), one call per session, all K at once:
  baseline: slow__sleep of S ms from K sessions that declared nothing to be asked (nothing to attribute);
  first:    the same from K sessions that declared sampling and elicitation, before the tool is learned
            (QUIET_AFTER calls run one after another, then the rest together), once per run;
  learned:  the same, later (it ran alone QUIET_AFTER times without asking);
  asking:   asker__ask_then_work (one elicitation, answered at once, then S ms of work) from the capable
            sessions: each runs alone, so its batch is against K x one such call alone.
Each figure is a batch's wall time (the median of --batches batches, interleaved, except `first`) and
its ratio to the baseline. The clients run on core 1; mcpctl and its children on core 0.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mcpctl.router.servers import QUIET_AFTER
from tests.bench.bench_bridge import LegacySession
from tests.bench.common import GATEWAY_CPU, median, pin_self_to_load_cpu, pinned
from tests.support.host import HostProcess, fixture, start_host

CAPABLE: dict[str, Any] = {"sampling": {}, "elicitation": {}}
SLEEP = "slow__sleep"
ASK = "asker__ask_then_work"


def batch(sessions: list[LegacySession], name: str, arguments: dict[str, Any], expect: str) -> float:
    """Seconds from releasing one call per session at once to the last answer."""
    gate = threading.Barrier(len(sessions) + 1)

    def one(session: LegacySession) -> str:
        gate.wait()
        return session.call(name, arguments)

    with ThreadPoolExecutor(len(sessions)) as pool:
        futures = [pool.submit(one, session) for session in sessions]
        gate.wait()
        started = time.perf_counter()
        texts = [future.result() for future in futures]
        took = time.perf_counter() - started
    if any(not text.startswith(expect) for text in texts):
        raise SystemExit(f"{name}: unexpected results {texts}")
    return took


def attribution_host(work: Path) -> HostProcess:
    """One host, two servers, each one shared 2025-era-only stdio child."""
    lines = []
    for server, script in (("slow", "slow.py"), ("asker", "asker.py")):
        command, *args = fixture(script, "--era", "legacy")
        lines.append(f"[servers.{server}]\ncommand = {json.dumps(command)}\nargs = {json.dumps(args)}\n")
    config = work / "attribution.toml"
    config.write_text("\n".join(lines))
    return start_host(
        work / "home", "--log-level", "warning", "--config", str(config), prefix=pinned(GATEWAY_CPU, [])
    )


def measure(url: str, k: int, sleep_s: float, batches: int) -> dict[str, Any]:
    plain = [LegacySession(url, {}) for _ in range(k)]
    capable = [LegacySession(url, CAPABLE) for _ in range(k)]
    work = {"seconds": sleep_s, "steps": 1}  # both tools' arguments: S of work, no progress
    try:
        # Warm both children and the sessions; neither teaches mcpctl anything about slow__sleep
        # (the plain sessions' calls never run alone; the asking tool asks).
        batch(plain, SLEEP, work, "slept")
        capable[0].call(ASK, work)
        first = batch(capable, SLEEP, work, "slept")
        baseline, learned, asking, alone = [], [], [], []
        for _ in range(batches):
            baseline.append(batch(plain, SLEEP, work, "slept"))
            learned.append(batch(capable, SLEEP, work, "slept"))
            asking.append(batch(capable, ASK, work, "worked for bench"))
            for _ in range(3):
                started = time.perf_counter()
                capable[0].call(ASK, work)
                alone.append(time.perf_counter() - started)
    finally:
        for session in plain + capable:
            session.close()
    return {
        "baseline_ms": median(baseline) * 1000,
        "first_ms": first * 1000,
        "learned_ms": median(learned) * 1000,
        "asking_ms": median(asking) * 1000,
        "asking_alone_ms": median(alone) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8, help="K: sessions, one call each per batch")
    parser.add_argument("--sleep-ms", type=float, default=100.0, help="S: each call's work")
    parser.add_argument("--batches", type=int, default=3, help="batches of each kind (the first: once)")
    args = parser.parse_args()
    k, s = args.concurrency, args.sleep_ms
    pin_self_to_load_cpu()
    with tempfile.TemporaryDirectory() as tmp:
        host = attribution_host(Path(tmp))
        try:
            report = measure(host.url, k, s / 1000, args.batches)
        finally:
            host.stop()
    base = report["baseline_ms"]
    predicted = min(k, QUIET_AFTER + 1)  # QUIET_AFTER alone, one after another, then the rest together
    k_alone = k * report["asking_alone_ms"]
    report.update(
        concurrency=k,
        sleep_ms=s,
        batches=args.batches,
        first_ratio=report["first_ms"] / base,
        first_predicted_ratio=float(predicted),
        learned_ratio=report["learned_ms"] / base,
        asking_ratio=report["asking_ms"] / base,
        asking_vs_k_alone=report["asking_ms"] / k_alone,
    )
    n = args.batches
    print(
        f"baseline : {base:8.1f} ms = 1.00 x baseline  ({k} calls of a {s:g} ms tool that never asks,"
        f" from sessions that cannot be asked; median of {n})"
    )
    print(
        f"first    : {report['first_ms']:8.1f} ms = {report['first_ratio']:.2f} x baseline  (the same from"
        f" sessions that could be asked, tool not yet learned; the rules predict ~{predicted}:"
        f" {min(k, QUIET_AFTER)} alone one after another, then {k - min(k, QUIET_AFTER)} together)"
    )
    print(
        f"learned  : {report['learned_ms']:8.1f} ms = {report['learned_ratio']:.2f} x baseline  (the same,"
        f" after it ran alone {QUIET_AFTER} times without asking; median of {n})"
    )
    print(
        f"asking   : {report['asking_ms']:8.1f} ms = {report['asking_ratio']:.2f} x baseline  ({k} calls"
        f" asking one elicitation, then {s:g} ms of work; median of {n}); one alone"
        f" {report['asking_alone_ms']:.1f} ms, {k} x alone {k_alone:.1f} ms:"
        f" {report['asking_vs_k_alone']:.2f} of it"
    )
    print(
        f"summary: {k} concurrent calls to one shared legacy child take {report['first_ratio']:.2f}x the"
        f" baseline on a tool's first batch, {report['learned_ratio']:.2f}x once it is learned never to ask;"
        f" calls that ask run one at a time ({report['asking_ratio']:.2f}x, {report['asking_vs_k_alone']:.2f}"
        f" of {k} x alone)"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
