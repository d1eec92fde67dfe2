"""What a tools/list of many tools costs through the host, against a tools/call, in one run.

Run from the repository root (needs wrk; with two cores or more the host and its child are pinned
to core 0 and wrk to core 1):

    .venv/bin/python -m tests.bench.bench_lists [--seconds 4] [--rounds 2] [--connections 8] [--tools 300]

Two hosts serve the echo fixture with --tools extra tools: one with the default configuration
(audit trail and metrics on, no auth), and one with API-key auth, called with a key for `echo__*`
(so the policy has its say on each entry of a list). Against each, each round runs wrk with a
2026-07-28 tools/list (the whole list, one page), then with a tools/call of echo. Prints
requests/s and the host's CPU time per request for each, and per host the median CPU of a list
over that of a call. A list is answered by the host from its catalog (the child is not asked):
what it costs is the host's, the hooks' say on each entry and the list's JSON. No target: it
says what a client that asks for the list often pays.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.bench_auth import api_key_header
from tests.bench.common import GATEWAY_CPU, MODERN_META, echo_request, pinned, wrk, wrk_arguments, wrk_script
from tests.limits.hosting import serve_config, stdio_server
from tests.support.host import fixture
from tests.support.mcp_http import ModernClient

REQUESTS: dict[str, dict[str, Any]] = {
    "tools/list": {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": MODERN_META}},
    "tools/call": echo_request(name="echo__echo"),
}


def measure(name: str, home: Path, args: argparse.Namespace) -> None:
    """Rounds of lists and calls against one host; prints each and the list over the call."""
    tools = args.tools
    home.mkdir(parents=True)
    config: dict[str, Any] = {"servers": {"echo": stdio_server(fixture("echo.py", "--tools", str(tools)))}}
    headers = None
    if name == "api-key":
        config["auth"] = {"mode": "api-key"}
        headers = api_key_header(home)
    cpu: dict[str, list[float]] = {method: [] for method in REQUESTS}
    host = serve_config(home, config, prefix=pinned(GATEWAY_CPU, []))
    try:
        with ModernClient(host.url, headers=headers) as client:  # the list is whole before it is timed
            listed = len(client.result("tools/list")["tools"])
        if listed < tools:
            raise SystemExit(f"the {name} host listed {listed} tools, not the {tools} and more asked for")
        scripts = {
            m: wrk_script(home / f"{i}.lua", body, headers) for i, (m, body) in enumerate(REQUESTS.items())
        }
        for round_ in range(1, args.rounds + 1):
            for method, script in scripts.items():
                wrk(host.url, script, args.connections, 1).clean()
                run = wrk(host.url, script, args.connections, args.seconds, host.proc.pid).clean()
                cpu[method].append(run.cpu_us_per_call)
                print(
                    f"round {round_} {name:<7} {method} ({listed} tools): {run.rate:9.1f} requests/s  "
                    f"{run.cpu_us_per_call:6.1f} us CPU/request  p50 {run.p50_ms:.2f} ms",
                    flush=True,
                )
    finally:
        host.stop()
    per_list, per_call = statistics.median(cpu["tools/list"]), statistics.median(cpu["tools/call"])
    print(
        f"{name} host CPU per tools/list over per tools/call (medians): {per_list:.1f} / {per_call:.1f} us = "
        f"{per_list / per_call:.2f}"
    )


def main() -> None:
    args = wrk_arguments(
        __doc__, rounds=2, more=lambda parser: parser.add_argument("--tools", type=int, default=300)
    )
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-lists-") as tmp:
        for name in ("default", "api-key"):
            measure(name, Path(tmp) / name, args)


if __name__ == "__main__":
    main()
